/**
 * The one stylesheet, served from `/ui/style.css` so the CSP can say `style-src 'self'`. Colours
 * keep a contrast of at least 4.5:1 against their backgrounds; focus is always visible.
 */
export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff}
a{color:#0b4f9c}
a:focus,button:focus,input:focus,select:focus,main:focus{outline:3px solid #b35c00;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em}
.skip:focus{left:.5em}
header{display:flex;flex-wrap:wrap;gap:1em;align-items:center;padding:.5em 1em;background:#1d2b3a;color:#fff}
header a{color:#fff}
header a[aria-current=page]{font-weight:700;text-decoration:underline}
.brand{margin:0;font-weight:700}
nav ul{display:flex;gap:1em;list-style:none;margin:0;padding:0}
.signout{margin-left:auto;display:flex;gap:.5em;align-items:center}
main{padding:1em;max-width:72em}
table{border-collapse:collapse;margin:.5em 0 1.5em;min-width:20em}
th,td{border:1px solid #767676;padding:.25em .5em;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:700;padding:.25em 0}
td.num,th.num{text-align:right}
form.filters{display:flex;flex-wrap:wrap;gap:1em;align-items:end;margin-bottom:1em}
label{display:flex;flex-direction:column;font-weight:600}
input,select,button{font:inherit;padding:.25em .5em}
button{border:1px solid #1d2b3a;background:#1d2b3a;color:#fff;border-radius:3px;cursor:pointer}
button.danger{background:#a4161a;border-color:#a4161a}
.bar{display:inline-block;width:12em;height:.9em;border:1px solid #444;vertical-align:middle;background:#fff}
.bar>span{display:block;height:100%;background:#2d6a4f}
.bar.high>span{background:#a4161a}
meter{width:12em}
pre{white-space:pre-wrap;background:#f3f3f3;padding:.75em;border:1px solid #ccc}
.muted{color:#555}
.error{color:#a4161a;font-weight:600}
ol.timeline{padding-left:1.5em}
`;
