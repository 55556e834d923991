"""The engine's binding verification: the candidates run again on fresh seeds, one after another up
to `verify.candidates`; where those that ran failed and no other passes the search yet, the configs
the search closed only as slower than them race on there first (the fall-back)."""

from __future__ import annotations

from hotlap.analysis.configs import Analysis
from hotlap.callbacks.base import StageStarted
from hotlap.engine.stage import Silent
from hotlap.store import ConfigRecord

__all__ = ["Verifying"]


class Verifying:
    """The verification part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    def _verify(self) -> None:
        """Binding verification: the recommendation (and the baseline) again, on fresh seeds never
        used in the search; if it does not pass there, the next candidate, up to
        `verify.candidates`. The next candidate comes from the search judged without the ones that
        failed: where none passes yet, the configs closed only as slower than them race on in the
        search first (the fall-back). Only a config that passes is recommended (the analysis
        decides)."""
        assert self.spec.verify is not None
        analysis = self._analysis()
        if not analysis.candidates:
            self._log("verification skipped: no config to verify (none passes the target)")
            return
        self.callbacks.stage(StageStarted("verify", "full"))
        baseline = (
            self._register({}, origin="baseline", baseline=True) if self.spec.baseline is not None else None
        )
        while analysis.verified is None:
            tried = set(analysis.failed_verification)
            todo = [c for c in analysis.candidates[: self.spec.verify.candidates] if c not in tried]
            if todo:
                self._verify_one(todo[0], baseline)
            elif not (
                analysis.reopen and len(tried) < self.spec.verify.candidates and self._reopen(analysis)
            ):
                self._log("no config was verified")
                return
            analysis = self._analysis()
        self._log(f"verified: {analysis.verified} passes on fresh seeds")

    def _verify_one(self, config_id: str, baseline: ConfigRecord | None) -> None:
        """Run a candidate (and the baseline, once) on the fresh seeds."""
        stage = self._stage("verify", "full", self.spec.verify_seeds(), run_stage="verify")
        names = [config_id]
        if baseline is not None and baseline.config_id != config_id:
            names.append(baseline.config_id)
        self._log(f"verifying {', '.join(names)} on {len(stage.seeds.seeds)} fresh seeds")
        for name in names:
            self._join(self.configs[name], stage)
        silent = Silent(self.spec)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)
        if self._analysis().verified != config_id:
            self._log(f"{config_id} did not pass verification")

    def _reopen(self, analysis: Analysis) -> bool:
        """The fall-back: the configs the search closed as slower than candidates that then failed
        on fresh seeds race on in the search, judged without the failed ones. False when that
        gives them no run to make (nothing changes)."""
        fidelity = analysis.configs[0].fidelity if analysis.configs else "full"
        failed = set(analysis.failed_verification)
        self._log(
            f"{', '.join(sorted(failed))} did not pass on fresh seeds: "
            f"{', '.join(analysis.reopen)} race on in the search without them"
        )
        for config_id in analysis.reopen:
            self.store.reopen_race(self.sweep.id, config_id, fidelity, "search")
        stage = self._stage("search", fidelity)
        searched = {r.config_id for r in analysis.configs if r.fidelity == fidelity and r.n > 0}
        before = self.ran
        silent = Silent(self.spec)
        for config_id in sorted(searched - failed, key=lambda c: c in analysis.reopen):
            self._join(self.configs[config_id], stage)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)
        return self.ran > before
