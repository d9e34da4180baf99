import { PAGE_SCRIPT } from './page-script.js';

/**
 * The dashboard page: a shell whose script draws everything with DOM text
 * nodes (never `innerHTML`), so ids, messages and payloads from the store
 * show as text whatever characters they hold. Served with a
 * Content-Security-Policy that runs only this server's script and style.
 *
 * @example
 * ```ts
 * res.end(PAGE_HTML);
 * ```
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>orsa dashboard</title>
<link rel="stylesheet" href="/app.css">
</head>
<body data-refresh-ms="__REFRESH_MS__">
<header><a href="#/" class="brand">orsa</a><span class="sub">sagas</span><span id="live" class="live" title="refreshes without reloading">live</span></header>
<main id="app"><p>Loading…</p></main>
<script src="/app.js"></script>
</body>
</html>
`;

export { PAGE_SCRIPT };

/**
 * The page's style: plain CSS, no web fonts, nothing fetched.
 *
 * @example
 * ```ts
 * res.end(PAGE_STYLE);
 * ```
 */
export const PAGE_STYLE = `
:root { --fg:#1d2330; --muted:#667085; --line:#d0d5dd; --bg:#f6f7f9; --card:#fff; --accent:#2f6fed;
  --queued:#0e7490; --running:#2f6fed; --waiting:#b26b00; --compensating:#9a3fd1; --completed:#16833a; --compensated:#6b7280; --failed:#c81e1e; --cancelled:#475467; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:10px; padding:10px 20px; background:#101828; color:#fff; }
header .brand { color:#fff; font-weight:700; font-size:18px; text-decoration:none; }
header .sub { color:#98a2b3; }
header .live { margin-left:auto; font-size:12px; color:#98a2b3; }
header .live.stale { color:#fda29b; }
main { padding:16px 20px; max-width:1200px; }
h1 { font-size:20px; margin:4px 0 8px; word-break:break-all; }
h2 { font-size:15px; margin:18px 0 8px; }
a { color:var(--accent); }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:12px; }
.filters { display:flex; flex-wrap:wrap; gap:6px; align-items:center; margin-bottom:10px; }
.filters button { border:1px solid var(--line); background:#fff; border-radius:16px; padding:4px 10px; cursor:pointer; font:inherit; }
.filters button.on { background:#101828; color:#fff; border-color:#101828; }
.filters input { margin-left:auto; padding:5px 8px; border:1px solid var(--line); border-radius:6px; min-width:240px; font:inherit; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid #eaecf0; vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; }
td.id, td.mono, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; word-break:break-all; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; font-weight:600; }
.badge.queued { background:var(--queued); } .badge.running { background:var(--running); } .badge.waiting { background:var(--waiting); } .badge.compensating { background:var(--compensating); }
.badge.completed { background:var(--completed); } .badge.compensated { background:var(--compensated); } .badge.failed { background:var(--failed); } .badge.cancelled { background:var(--cancelled); }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; }
.facts dt { color:var(--muted); } .facts dd { margin:0; }
.actions { display:flex; flex-wrap:wrap; gap:8px; align-items:flex-start; }
.actions button, .confirm button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; }
.actions button:disabled { opacity:.45; cursor:not-allowed; }
.actions button.danger, .confirm button.danger { border-color:var(--failed); color:var(--failed); }
.event-form { display:flex; gap:6px; align-items:flex-start; }
.event-form input, .event-form textarea { font:12.5px ui-monospace, monospace; padding:5px; border:1px solid var(--line); border-radius:6px; }
.event-form textarea { width:260px; height:32px; }
.confirm { margin-top:10px; padding:10px; border:1px solid #fec84b; background:#fffaeb; border-radius:6px; }
.confirm p { margin:0 0 8px; }
.notice { margin-top:10px; padding:8px 10px; border-radius:6px; background:#ecfdf3; border:1px solid #abefc6; }
.notice.error { background:#fef3f2; border-color:#fecdca; }
.chart { display:flex; gap:24px; align-items:flex-start; flex-wrap:wrap; }
.flow { display:flex; flex-direction:column; align-items:center; }
.arrow { color:var(--muted); line-height:1; padding:3px 0; }
.node { min-width:170px; border:2px solid var(--line); border-radius:8px; background:#fff; padding:6px 10px; text-align:center; }
.node .name { font-weight:600; }
.node .kind { font-size:11.5px; color:var(--muted); }
.node .counts { font-size:11.5px; margin-top:2px; }
.node .counts span { margin:0 3px; }
.node .fails { color:var(--failed); font-weight:600; }
.node .comp { font-size:11.5px; color:var(--compensating); }
.node.visited { border-color:#98a2b3; }
.node.current { border-color:var(--accent); box-shadow:0 0 0 3px #c7d7fe; background:#eef4ff; }
.node.failedstep { border-color:var(--failed); }
.parallel { border:1px dashed #98a2b3; border-radius:10px; padding:6px 10px; }
.parallel .title { font-size:12px; color:var(--muted); text-align:center; margin-bottom:4px; }
.branches { display:flex; gap:14px; }
.branch .title { font-size:11.5px; }
.finals { display:flex; flex-direction:column; gap:6px; }
.final { border:2px solid var(--line); border-radius:16px; padding:3px 12px; color:var(--muted); background:#fff; text-align:center; }
.final.current { color:#fff; border-color:transparent; }
.final.current.completed { background:var(--completed); } .final.current.compensated { background:var(--compensated); }
.final.current.failed { background:var(--failed); } .final.current.cancelled { background:var(--cancelled); }
.final.current.rollback { background:var(--compensating); }
.cols { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
pre { margin:0; white-space:pre-wrap; word-break:break-all; font-size:12.5px; max-height:260px; overflow:auto; background:#f9fafb; padding:6px; border-radius:4px; }
tr.takeover td { background:#fffaeb; }
tr.failure td { background:#fef3f2; }
.muted { color:var(--muted); }
`;
