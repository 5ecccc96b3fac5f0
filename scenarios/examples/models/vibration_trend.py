#!/usr/bin/env python3
"""An outside failure predictor for thermotwin, in plain Python (standard library only).

thermotwin runs it as `cmd:python3 scenarios/examples/models/vibration_trend.py` and speaks JSON
lines over stdin/stdout, one message per line:

  in:  {"batch": 7, "rows": [{"device_id": "home-00012", "at": "2026-07-01T12:00:00Z",
                              "features": {"peak_g": 0.9, "log_peak_slope_per_day": 0.4, ...}}]}
  out: {"batch": 7, "predictions": [{"device_id": "home-00012",
                                     "issue": "Compressor bearing degradation",
                                     "confidence": 0.81}]}

Features a device does not know yet are null. Answer every batch, in order, with the same
"batch" number; a device may be left out (no prediction). Anything written to stderr is shown
if the model fails.

This example scores a bearing by how loud it is against a typical healthy compressor and how
fast its vibration grows: a logistic function of ln(peak / 1 g) and the slope of ln(peak) per day.
"""

import json
import math
import sys

ISSUE = "Compressor bearing degradation"


def confidence(features):
    peak = features.get("peak_g")
    slope = features.get("log_peak_slope_per_day")
    if peak is None or slope is None or peak <= 0:
        return None
    z = -4.0 + 2.0 * math.log(peak) + 6.0 * max(slope, 0.0)
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        message = json.loads(line)
        predictions = []
        for row in message["rows"]:
            c = confidence(row["features"])
            if c is not None:
                predictions.append(
                    {"device_id": row["device_id"], "issue": ISSUE, "confidence": round(c, 4)}
                )
        sys.stdout.write(json.dumps({"batch": message["batch"], "predictions": predictions}))
        sys.stdout.write("\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
