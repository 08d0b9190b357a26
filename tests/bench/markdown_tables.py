"""Reading the tables of a markdown report back, for the report tests."""


def table_rows(markdown: str, heading: str) -> dict[str, list[str]]:
    """The first table after ``heading`` as {first cell: cells}, cells stripped."""
    lines = markdown.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows
