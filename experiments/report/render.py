"""Tables rendered as Markdown and as LaTeX from the same cells."""

from gps.stats import plus_minus
from experiments.report.measures import Ratio, Stat
from experiments.report.tables import Table


LATEX_ESCAPES = {
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "—": "---",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "±": r"$\pm$",
}


def latex_escape(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(c, c) for c in text)


def ratio_text(cell: Ratio, latex: bool = False) -> str:
    """'1.41× [1.02, 1.95]', or '1.41×' without a CI."""
    text = f"{cell.value:.2f}" + (r"$\times$" if latex else "×")
    return text if cell.low is None else text + f" [{cell.low:.2f}, {cell.high:.2f}]"


def cell_text(cell: str | Stat | Ratio, latex: bool = False) -> str:
    """A cell as Markdown, or as LaTeX (a Stat in math mode, text escaped)."""
    if isinstance(cell, Ratio):
        return ratio_text(cell, latex)
    if not isinstance(cell, Stat):
        return latex_escape(cell) if latex else cell
    text = plus_minus(cell.mean, cell.half, cell.fmt, r" \pm " if latex else " ± ")
    if latex:
        return rf"$\mathbf{{{text}}}$" if cell.resolved else f"${text}$"
    return f"**{text}**" if cell.resolved else text


def render_markdown(table: Table) -> str:
    lines = [f"## {table.title}", "", table.note, ""]
    lines.append("| " + " | ".join(table.header) + " |")
    lines.append("|" + "---|" * len(table.header))
    lines += ["| " + " | ".join(cell_text(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_latex(table: Table) -> str:
    def row_line(cells):
        return " & ".join(cells) + r" \\"

    lines = [rf"\paragraph{{{latex_escape(table.title)}}} {latex_escape(table.note)}", ""]
    lines += [r"\noindent", rf"\begin{{tabular}}{{l{'r' * (len(table.header) - 1)}}}", r"\hline"]
    lines += [row_line(latex_escape(h) for h in table.header), r"\hline"]
    lines += [row_line(cell_text(c, latex=True) for c in row) for row in table.rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)
