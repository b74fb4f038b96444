/** The CSS the report and the dashboard share. */
export const PAGE_STYLE = `
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td { font-variant-numeric: tabular-nums; }
tr.differs td { background: #fff6d6; }
.note { color: #666; font-size: 0.9em; }
.chart { margin: 1em 0; }
.error { color: #a00; white-space: pre-wrap; }
.status-running { color: #0a6; } .status-finished { color: #246; } .status-stopped { color: #a60; } .status-waiting { color: #888; }
`;
