"""The settings of ``io.read`` and ``io.write``, checked before a run starts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel_io.paths import Format, infer_format
from kernel_io.remote import is_url


class ReadSettings(BaseModel):
    """``io.read``: the format of a directory or extension-less glob is found when the step runs."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    path: str = Field(min_length=1, description="A file, a directory (its files of the format) or a glob.")
    format: Format | None = Field(None, description="avro, json, csv or parquet; default: by extension.")
    columns: list[str] | None = Field(None, min_length=1, description="Keep only these columns, in order.")
    file_column: str | None = Field(None, min_length=1, description="Add a column with each row's file name.")
    parse_dates: list[str] = Field(default_factory=list,
                                   description="Text columns to parse as ISO-8601 into UTC datetimes.")
    text: list[str] = Field(default_factory=list,
                            description="CSV: columns read as the text written (codes keep leading zeros).")


class WriteSettings(BaseModel):
    """``io.write``: the format is settled here, so a path the format cannot be told from fails early."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    path: str = Field(min_length=1, description="The file to write (replaced atomically).")
    format: Format | None = Field(None, description="avro, json, csv or parquet; default: by extension.")
    lines: bool = Field(False, description="JSON only: write JSON lines instead of one array.")
    avro_schema: dict[str, Any] | None = Field(None, description="Avro only: the record schema to write.")

    @model_validator(mode="after")
    def _consistent(self) -> WriteSettings:
        if self.format is None:
            self.format = infer_format(self.path)
            if self.format is None:
                raise ValueError(f"cannot infer the format from '{self.path}'; set format")
        if self.lines and self.format != "json":
            raise ValueError(f"lines applies to json, not {self.format}")
        if self.avro_schema is not None:
            if self.format != "avro":
                raise ValueError(f"avro_schema applies to avro, not {self.format}")
            try:
                from kernel_io.avro_read import schema_columns

                schema_columns(self.avro_schema)
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"avro_schema: {exc}") from None
        return self


class PublishSettings(BaseModel):
    """``io.publish``: a results directory, and how each input is written into it."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    path: str = Field(min_length=1, description="The results directory, replaced as a whole by each run.")
    format: Format = Field("parquet", description="The format of the tables: avro, json, csv or parquet.")
    documents: list[str] = Field(default_factory=list,
                                 description="Inputs of one row each, written as one JSON object (NAME.json).")

    @model_validator(mode="after")
    def _local(self) -> PublishSettings:
        if is_url(self.path):
            raise ValueError(f"io.publish replaces a local directory whole; '{self.path}' is a URL (write files "
                             "there with io.write)")
        return self
