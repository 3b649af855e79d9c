"""The pipeline file's ``stream:`` section: what a stream of landing files does with the pipeline."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kernel import PipelineField

STEP_OUTPUT = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.[A-Za-z0-9_]+$"


class AlertSettings(BaseModel):
    """``stream.alerts``: each row of an output is an alert, written to alerts.jsonl and sent as a signal."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    output: str = Field(pattern=STEP_OUTPUT, description="the output whose rows are alerts, as step.output")
    time_column: str | None = Field(None, description="the column holding each alert's event time")


class StreamSettings(BaseModel):
    """``stream:`` of a pipeline file (docs/streaming.md#the-stream-section)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="the step that reads one landing file (given no rows when "
                        "no file comes); step.output: the output whose rows are the file's records")
    file: str = Field("file", min_length=1, description="the parameter a landing file's path is passed in")
    sink: tuple[str, ...] = Field(min_length=1, description="the outputs appended to the sink after each batch, "
                                  "as step.output")
    period: tuple[str, ...] = Field((), description="steps that need the whole period: not run per batch")
    pattern: str = Field("*", min_length=1, description="the landing files to take (a glob on the name)")
    alerts: AlertSettings | None = Field(None, description="an output whose rows are alerts")

    @property
    def source_step(self) -> str:
        return self.source.partition(".")[0]

    @property
    def source_output(self) -> str | None:
        """The output holding the file's records (the source's other outputs are reference data)."""
        return self.source.partition(".")[2] or None

    @field_validator("sink")
    @classmethod
    def _outputs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if "." not in item.strip(".") or item.count(".") != 1:
                raise ValueError(f"'{item}' is not step.output")
        if len(set(value)) != len(value):
            raise ValueError("an output is listed twice")
        return value


FIELDS = [
    PipelineField("stream", on="pipeline", type=StreamSettings | None, default=None,
                  description="how `kernel stream` runs the pipeline on each landing file (docs/streaming.md)"),
]
