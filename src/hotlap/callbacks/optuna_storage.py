"""`optuna`: the sweep as an Optuna study in an Optuna storage, written as it runs, so that
`optuna-dashboard` shows it live: `optuna-dashboard <sweep folder>/optuna.journal`.

The storage is `$HOTLAP_OPTUNA_STORAGE` (an RDB URL such as `sqlite:///optuna.db`, or a journal
file's path), by default the journal file `optuna.journal` in the sweep's folder; the study is named
by the sweep's id, with the objective's directions. Each finished run of the search is one trial:
the config's swept values as its params (with the space's distributions), the objective's values,
and as user attributes the config id, the seed, the fidelity, the run id and, for each objective
metric, the config's mean, standard deviation and number of seeds so far (the seeds' spread). A
pruned run is a pruned trial with its epochs as intermediate values; a failed run a failed trial.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from typing import Any

from hotlap.callbacks.base import Callback, RunEnded, RunStarted, SweepInfo, register_callback

__all__ = ["OptunaStorageCallback"]

JOURNAL = "optuna.journal"


@register_callback("optuna")
class OptunaStorageCallback(Callback):
    def __init__(self) -> None:
        self.study: Any = None
        self.objectives: list[str] = []
        self.epoch_metric: str | None = None
        self.distributions: dict[str, Any] = {}
        self.params: dict[int, dict[str, Any]] = {}  # run id -> its config's swept values
        self.values: defaultdict[str, defaultdict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.written: set[int] = set()  # run ids with a trial (a resumed sweep's earlier runs)

    def sweep_start(self, info: SweepInfo, **extra: Any) -> None:
        import optuna

        from hotlap.strategies.samplers import space_distributions

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        target = os.environ.get("HOTLAP_OPTUNA_STORAGE") or str(info.sweep.directory / JOURNAL)
        if "://" in target:
            storage: Any = target
        else:
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            storage = JournalStorage(JournalFileBackend(target))
        objectives = info.spec.objective or []
        self.objectives = [o.metric for o in objectives]
        self.epoch_metric = info.spec.pruning.metric if info.spec.pruning is not None else None
        self.distributions = space_distributions(info.spec)
        self.study = optuna.create_study(
            storage=storage,
            study_name=info.sweep.id,
            directions=[o.direction for o in objectives],
            load_if_exists=True,
        )
        self.study.set_user_attr("hotlap", f"{info.spec.recipe_label} on {info.spec.dataset}")
        for trial in self.study.get_trials(deepcopy=False):  # a resumed sweep: its runs so far
            self.written.add(trial.user_attrs.get("run_id"))
            if trial.state == optuna.trial.TrialState.COMPLETE:
                for metric, value in zip(self.objectives, trial.values, strict=False):
                    self.values[trial.user_attrs.get("config_id", "")][metric].append(value)

    def run_start(self, event: RunStarted, **info: Any) -> None:
        self.params[event.run.id] = dict(event.params)

    def run_end(self, event: RunEnded, **info: Any) -> None:

        run, outcome = event.run, event.outcome
        params = self.params.pop(run.id, {})
        if self.study is None or run.stage != "search" or run.id in self.written:
            return
        values = [outcome.metrics.get(metric) for metric in self.objectives]
        done = outcome.status == "done" and all(_finite(v) for v in values)
        if done:
            for metric, value in zip(self.objectives, values, strict=True):
                self.values[run.config_id][metric].append(float(value))  # type: ignore[arg-type]
        attrs: dict[str, Any] = {
            "config_id": run.config_id,
            "seed": run.seed,
            "fidelity": run.fidelity,
            "run_id": run.id,
            **self._spread(run.config_id),
        }
        if outcome.error:
            attrs["reason"] = outcome.error[:500]
        kept = {k: v for k, v in params.items() if k in self.distributions}
        attrs.update({f"param_{k}": v for k, v in params.items() if k not in kept})  # (none swept)
        try:
            trial = self._trial(done, outcome, values, kept, attrs)
        except ValueError:  # a value outside its distribution (a config registered another way)
            attrs.update({f"param_{k}": v for k, v in kept.items()})
            trial = self._trial(done, outcome, values, {}, attrs)
        self.study.add_trial(trial)
        self.written.add(run.id)

    def _trial(
        self, done: bool, outcome: Any, values: list[Any], params: dict[str, Any], attrs: dict[str, Any]
    ) -> Any:
        import optuna

        state = optuna.trial.TrialState
        return optuna.trial.create_trial(
            state=state.COMPLETE if done else (state.PRUNED if outcome.status == "pruned" else state.FAIL),
            values=[float(v) for v in values] if done else None,
            params=params,
            distributions={k: self.distributions[k] for k in params},
            user_attrs=attrs,
            intermediate_values=self._epochs(outcome.history) if outcome.status == "pruned" else None,
        )

    def _spread(self, config_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for metric, values in self.values[config_id].items():
            out[f"{metric}_mean"] = statistics.fmean(values)
            out[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else None
            out[f"{metric}_n"] = len(values)
        return out

    def _epochs(self, history: list[dict[str, Any]]) -> dict[int, float]:
        if self.epoch_metric is None:
            return {}
        out = {}
        for index, record in enumerate(history, start=1):
            value = record.get(self.epoch_metric)
            if _finite(value):
                out[int(record.get("epoch", index))] = float(value)
        return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
