"""Table cells learn their column heading, so a table read as cards on a phone still makes sense."""

from app.web.responsive_tables import label_tables

TABLE = """<table class="govuk-table"><caption>Sessions</caption>
<thead><tr><th scope="col">When</th><th scope="col">Price <span class="govuk-visually-hidden">in pounds</span></th>
<th scope="col" colspan="2">What you can do</th></tr></thead>
<tbody><tr><th scope="row">Monday</th><td class="x">£1 &amp; more</td><td>a</td><td>b</td></tr>
<tr><td data-label="Kept">k</td><td>c</td></tr></tbody></table>"""


def test_each_body_cell_gets_its_column_heading():
    out = label_tables(TABLE)
    assert '<th scope="row" data-label="When">Monday</th>' in out
    assert '<td class="x" data-label="Price">£1 &amp; more</td>' in out
    assert out.count('data-label="What you can do"') == 2


def test_a_cell_already_labelled_keeps_its_label():
    out = label_tables(TABLE)
    assert '<td data-label="Kept">k</td>' in out


def test_headings_are_escaped_and_tables_without_a_head_are_left_alone():
    plain = '<table><tbody><tr><td>x</td></tr></tbody></table>'
    assert label_tables(plain) == plain
    quoted = '<table><thead><tr><th>Say "hi" &lt;3</th></tr></thead><tbody><tr><td>x</td></tr></tbody></table>'
    assert 'data-label="Say &quot;hi&quot; &lt;3"' in label_tables(quoted)
