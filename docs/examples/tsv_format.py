"""A report format of your own: `hotlap report ID --format tsv`, and `report.tsv` beside the other
formats in every report folder."""

from __future__ import annotations

from hotlap.report import register_format


@register_format("tsv", suffix="tsv")
def tsv(analysis, sweep, environment, plots):
    metric = analysis.spec.primary.metric  # the first objective's metric
    lines = [f"config\tn\tmean_{metric}\tdecision"]
    for config in analysis.configs:  # every config, best first
        mean = config.metrics[metric].mean if metric in config.metrics else None
        decision = config.verdict.decision if config.verdict else ""
        lines.append(f"{config.config_id}\t{config.n}\t{'' if mean is None else f'{mean:.6g}'}\t{decision}")
    return "\n".join(lines) + "\n"
