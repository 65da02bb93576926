#!/usr/bin/env python3
"""Writes the UI-import and Grafana dashboards from the Chronograf resources files (the source of truth).

dashboards/*.dashboard            Chronograf --resources-path files: bare chronograf.Dashboard objects (edit these)
dashboards/chronograf-import/     the same dashboards in the UI's export wrapper {"meta", "dashboard"} (Import Dashboard)
dashboards/grafana/dashboards/    the same panels in Grafana's dashboard JSON model over the InfluxDB (InfluxQL) source

Chronograf's macros map one to one onto Grafana's: "time > :dashboardTime: AND time < :upperDashboardTime:" is
$timeFilter, :interval: is $__interval, and a tagValues template :name: is the query variable $name.
Run from the repository root: python3 scripts/generate-dashboards.py
"""
import glob
import json
import os
import re

DATASOURCE = {"type": "influxdb", "uid": "streammon-influxdb"}


def grafana_query(text, tempvars):
    text = text.replace("time > :dashboardTime: AND time < :upperDashboardTime:", "$timeFilter")
    text = text.replace(":interval:", "$__interval")
    for var in tempvars:
        text = text.replace(var, "$" + var.strip(":"))
    if ":" + "dashboardTime:" in text or ":interval:" in text or re.search(r":[a-zA-Z]+:", text):
        raise SystemExit("unmapped Chronograf macro in: " + text)
    return text


def grafana_panel(cell, pid, tempvars):
    table = cell["type"] == "table"
    targets = []
    for i, q in enumerate(cell["queries"]):
        targets.append({
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "rawQuery": True,
            "resultFormat": "table" if table else "time_series",
            "query": grafana_query(q["query"], tempvars),
        })
    y_label = cell.get("axes", {}).get("y", {}).get("label", "")
    panel = {
        "id": pid,
        "type": "table" if table else "timeseries",
        "title": cell["name"],
        "datasource": DATASOURCE,
        "gridPos": {"x": cell["x"] * 2, "y": cell["y"] * 2, "w": cell["w"] * 2, "h": cell["h"] * 2},
        "targets": targets,
        "fieldConfig": {"defaults": {"custom": {}}, "overrides": []},
        "options": {},
    }
    if not table:
        custom = panel["fieldConfig"]["defaults"]["custom"]
        custom["axisLabel"] = y_label
        custom["drawStyle"] = "line"
        custom["lineInterpolation"] = "stepAfter" if cell["type"] == "line-stepplot" else "linear"
        custom["stacking"] = {"mode": "normal" if cell["type"] == "line-stacked" else "none", "group": "A"}
        custom["fillOpacity"] = 30 if cell["type"] == "line-stacked" else 0
        custom["spanNulls"] = True
        panel["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                            "tooltip": {"mode": "multi", "sort": "none"}}
    return panel


def grafana_variable(template):
    name = template["tempVar"].strip(":")
    selected = next(v["value"] for v in template["values"] if v.get("selected"))
    q = template["query"]
    return {
        "name": name,
        "label": template.get("label", name),
        "type": "query",
        "datasource": DATASOURCE,
        "query": 'SHOW TAG VALUES FROM "%s" WITH KEY = "%s"' % (q["measurement"], q["tagKey"]),
        "definition": 'SHOW TAG VALUES FROM "%s" WITH KEY = "%s"' % (q["measurement"], q["tagKey"]),
        "refresh": 2,
        "multi": False,
        "includeAll": False,
        "sort": 0,
        "current": {"selected": True, "text": selected, "value": selected},
        "options": [],
    }


def main():
    os.makedirs("dashboards/chronograf-import", exist_ok=True)
    os.makedirs("dashboards/grafana/dashboards", exist_ok=True)
    for path in sorted(glob.glob("dashboards/*.dashboard")):
        board = json.load(open(path))
        if "dashboard" in board:
            raise SystemExit(path + " is in the export wrapper; the resources loader needs the bare dashboard")
        stem = os.path.splitext(os.path.basename(path))[0]
        wrapped = {"meta": {"chronografVersion": "1.10.0", "sources": {}}, "dashboard": board}
        with open("dashboards/chronograf-import/%s.json" % stem, "w") as f:
            json.dump(wrapped, f, indent=2)
            f.write("\n")
        tempvars = [t["tempVar"] for t in board["templates"]]
        grafana = {
            "uid": "streammon-" + stem,
            "title": board["name"],
            "tags": ["streammon"],
            "timezone": "utc",
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [grafana_variable(t) for t in board["templates"]]},
            "annotations": {"list": []},
            "panels": [grafana_panel(c, i + 1, tempvars) for i, c in enumerate(board["cells"])],
        }
        with open("dashboards/grafana/dashboards/%s.json" % stem, "w") as f:
            json.dump(grafana, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
