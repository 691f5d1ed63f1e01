"""Use cases. Each public function is one transaction: it commits once or raises a DomainError."""
