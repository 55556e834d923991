"""What a sweep found: `export`, `report`, `compare`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hotlap.cli.app import WorkdirOpt, _check_out, app, console
from hotlap.cli.examples import epilog
from hotlap.errors import HotlapError


@app.command(epilog=epilog("export"))
def export(
    sweep_id: Annotated[str, typer.Argument(metavar="ID", help="sweep id or name")],
    format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="file to write [stdout]")] = None,
    workdir: WorkdirOpt = None,
) -> None:
    """One row per run: sweep, config id, swept keys, seed, fidelity, status, metrics."""
    from hotlap.io import atomic_write_text
    from hotlap.store import open_store
    from hotlap.store.exports import export_text

    if format not in ("csv", "json"):
        raise HotlapError(f"--format {format!r}: expected csv or json")
    _check_out(out)
    with open_store(workdir, create=False) as store:
        columns, rows = store.export_table(sweep_id)
    text = export_text(columns, rows, format)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        console.print(f"{len(rows)} runs written to {escape(str(out))}", highlight=False)


@app.command(epilog=epilog("report"))
def report(
    sweep_id: Annotated[str, typer.Argument(metavar="ID", help="sweep id or name")],
    format: Annotated[
        str,
        typer.Option("--format", help="table, or a registered format: csv, json, md, html, ..."),
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="file for csv/json/md/html [stdout]; folder for table [<sweep>/report]"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="judge against this target after the runs: 0.94, 94%, METRIC>=VALUE"),
    ] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="the error the target is judged at")] = None,
    minimize: Annotated[
        str | None, typer.Option("--minimize", help="the cost to minimize among passing")
    ] = None,
    criterion: Annotated[
        str | None, typer.Option("--criterion", help="the decision rule: mean, success_rate, ...")
    ] = None,
    printed: Annotated[
        bool,
        typer.Option("--print", help="the plots at 300 dpi with a vector PDF and SVG of each, for a paper"),
    ] = False,
    workdir: WorkdirOpt = None,
) -> None:
    """Decisions per config, the recommendation with its confidence, plots and an HTML page.

    --target, --alpha, --minimize and --criterion judge the stored runs again with another
    objective, without running anything (the table's files go to <sweep>/report-rejudged)."""
    from hotlap.io import atomic_write_text
    from hotlap.report import get_format, load_report, render_format, render_table, write_report
    from hotlap.spec.posthoc import objective_overrides
    from hotlap.spec.validate import stored_spec
    from hotlap.store import open_store

    if format != "table":
        get_format(format)  # an unknown format is a one-line error before any work
        if printed:
            raise HotlapError(
                "--print: the plots are written with the table (--format table), into its folder"
            )
    _check_out(out, folder=format == "table")
    with open_store(workdir, create=False) as store:
        stored = stored_spec(store.require(sweep_id).spec)
        objective = objective_overrides(
            stored, target=target, alpha=alpha, minimize=minimize, criterion=criterion
        )
        loaded = load_report(store, sweep_id, objective)
    analysis, sweep = loaded.analysis, loaded.sweep
    if format == "table":
        console.print(render_table(analysis, sweep, width=console.width))
        folder = "report-rejudged" if objective else "report"
        files = write_report(loaded, out or store.sweep_folder(sweep) / folder, printed=printed)
        pngs = [p.name for p in files.values() if p.suffix == ".png"]
        vectors = [f"{Path(p).stem}.{kind}" for p in pngs for kind in ("pdf", "svg")] if printed else []
        names = ["report.html", "report.csv", *pngs, *vectors]
        console.print(f"report files: {escape(str(files['html'].parent))} ({', '.join(names)})")
        return
    text = render_format(loaded, format)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        console.print(f"report written to {escape(str(out))}", highlight=False)


@app.command("compare", epilog=epilog("compare"))
def compare_command(
    a: Annotated[str, typer.Argument(metavar="A", help="sweep, config id, or SWEEP/CONFIG")],
    b: Annotated[str, typer.Argument(metavar="B", help="the same, to compare A against")],
    confidence: Annotated[float, typer.Option("--confidence", help="for the intervals")] = 0.95,
    workdir: WorkdirOpt = None,
) -> None:
    """A against B: difference of means with its CI, paired t / Wilcoxon or Welch, effect size."""
    from hotlap.report.compare import (
        COMPARE_HEADERS,
        compare_sides,
        comparison_block,
        comparison_cells,
        naive_note,
        resolve_side,
        time_claim,
    )
    from hotlap.store import open_store

    if not 0.5 <= confidence < 1:
        raise HotlapError(f"--confidence {confidence}: expected a level in [0.5, 1)")
    with open_store(workdir, create=False) as store:
        side_a, side_b = resolve_side(store, a), resolve_side(store, b)
    rows = compare_sides(side_a, side_b, confidence)
    cells = [comparison_cells(row) for row in rows]
    headers = [h if h != "CI" else f"{confidence:.0%} CI" for h in COMPARE_HEADERS]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    title = f"A = {side_a.label}  vs  B = {side_b.label}"
    if sum(widths) + 3 * len(widths) + 1 <= console.width:
        table = Table(title=escape(title), title_justify="left")
        for header in headers:
            table.add_column(
                header, justify="left" if header in ("metric", "test") else "right", no_wrap=True
            )
        for line in cells:
            table.add_row(*map(escape, line))
        console.print(table)
    else:  # too narrow for the table: a block per metric, every number whole
        console.print(title, highlight=False, markup=False)
        for line in cells:
            for text in comparison_block(line, confidence):
                console.print(text, highlight=False, markup=False)
    if any(
        r.comparison.test == "paired" and r.shared < max(r.comparison.n_a, r.comparison.n_b) for r in rows
    ):
        console.print(
            "Paired tests use the seeds both ran; their means are over those seeds.",
            highlight=False,
        )
    claim = time_claim(rows, side_a.cost or side_b.cost, 1 - confidence)
    for line in (claim, naive_note(side_a, side_b)):
        if line:
            console.print(line, highlight=False, markup=False)


@app.command("best-so-far", epilog=epilog("best-so-far"))
def best_so_far_command(
    sweeps: Annotated[list[str], typer.Argument(metavar="ID...", help="sweeps to compare (ids or names)")],
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="PNG to write [one sweep: its report/best_so_far.png; several: "
            "<workdir>/comparisons/best_so_far-A+B.png]",
        ),
    ] = None,
    workdir: WorkdirOpt = None,
) -> None:
    """The best objective each sweep found against the runs it spent: a table and a step plot."""
    from hotlap.analysis.anytime import best_so_far
    from hotlap.report import load_report
    from hotlap.report.plots import draw_best_so_far
    from hotlap.store import open_store

    if plot is not None and plot.suffix.lower() != ".png":
        raise HotlapError(f"--plot {plot}: the plot is a .png file")
    if plot is not None and not plot.parent.is_dir():
        raise HotlapError(f"--plot {plot}: {plot.parent} is not a folder")
    curves, labels = [], {}
    with open_store(workdir, create=False) as store:
        for key in sweeps:
            loaded = load_report(store, key)
            order = [c.config_id for c in store.configs(loaded.sweep.id)]
            curve = best_so_far(loaded.analysis, order, loaded.sweep.name)
            curves.append((curve, loaded.analysis))
            labels.update({r.config_id: r.label() for r in loaded.analysis.configs})
        if len(sweeps) == 1:  # its own plot, beside its report
            default = store.sweep_folder(store.require(sweeps[0])) / "report" / "best_so_far.png"
        else:  # a comparison of several belongs to none of them
            names = "+".join(dict.fromkeys(store.require(key).name for key in sweeps))
            default = store.workdir / "comparisons" / f"best_so_far-{names}.png"
    names = {c.metric for c, _ in curves}
    if len(names) > 1:
        raise HotlapError(f"the sweeps optimize different metrics ({', '.join(sorted(names))})")
    metric = curves[0][1].spec.metric(curves[0][0].metric)
    finals = [c.final.best for c, _ in curves if c.final is not None and c.final.best is not None]
    overall = (max if curves[0][0].maximize else min)(finals) if finals else None
    among = " among configs that pass the target" if any(a.target is not None for _, a in curves) else ""
    table = Table(title=f"best mean {metric.name} found{among}", title_justify="left")
    for header in (
        "sweep",
        "strategy",
        "configs",
        "runs",
        "best",
        "config",
        "found after",
        "reaches the best after",
    ):
        table.add_column(header, justify="left" if header in ("sweep", "strategy", "config") else "right")
    for curve, _ in curves:
        final, found = curve.final, curve.found_at()
        reach = curve.reached(overall) if overall is not None else None
        table.add_row(
            escape(curve.sweep),
            curve.strategy,
            str(final.configs if final else 0),
            str(final.runs if final else 0),
            metric.format(final.best if final else None),
            escape(labels.get(found.best_config or "", "-")) if found else "-",
            f"{found.configs} configs, {found.runs} runs" if found else "-",
            f"{reach.configs} configs, {reach.runs} runs" if reach else "never",
        )
    console.print(table)
    console.print(
        "Bests are means over each config's seeds; whether two of them differ is a question for "
        "hotlap compare SWEEP/CONFIG SWEEP/CONFIG (paired on shared seeds).",
        highlight=False,
    )
    if plot is None:
        default.parent.mkdir(parents=True, exist_ok=True)
        plot = default
    draw_best_so_far([c for c, _ in curves], metric, plot)
    console.print(f"plot written to {escape(str(plot))}", highlight=False)
