"""Append-only JSON-lines logs that a resumed run can rewind to its checkpoint."""

import json
import os


class JsonlLog:
    def __init__(self, path: str):
        self.path = path

    def append(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            lines = [line for line in f if line.strip()]
        records = []
        for i, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if i < len(lines) - 1:
                    raise
                # A run killed mid-write leaves a partial last line: it is logged again on resume.
        return records

    def rewind(self, last_step: int) -> None:
        """Drops records of steps after `last_step` (a resumed run logs them again)."""
        kept = [r for r in self.read() if r["step"] <= last_step]
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)
        os.replace(tmp, self.path)
