//! The styles and scripts of the pages, embedded in the binary (no build
//! step, no CDN). The scripts are small and plain: the designer's name
//! kept in localStorage and a cookie, the queue's keys, and the
//! dashboard's polling.

/// The stylesheet every page inlines.
pub(super) const STYLE: &str = r#"
:root { color-scheme: light; --accent: #b5651d; --focus: #1f6feb; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #f6f4f1; }
nav.top { display: flex; gap: 18px; align-items: center; padding: 10px 20px; background: #2b2622; color: #eee; position: sticky; top: 0; z-index: 5; }
nav.top a { color: #ddd; text-decoration: none; }
nav.top a[aria-current] { color: #fff; border-bottom: 2px solid var(--accent); }
nav.top .designer { margin-left: auto; font-size: 13px; }
nav.top input { margin-left: 6px; padding: 4px 6px; border-radius: 4px; border: 1px solid #666; background: #fff; }
main { padding: 16px 24px 60px; max-width: 1500px; margin: 0 auto; }
h1 small, h2 small { font-weight: normal; color: #777; font-size: 60%; }
.help { color: #555; font-size: 13px; }
kbd { border: 1px solid #bbb; border-bottom-width: 2px; border-radius: 3px; padding: 0 4px; background: #fff; font-size: 12px; }
#flash { min-height: 1.2em; color: #a40000; font-weight: 600; }
#flash.ok { color: #1a7f37; }
.batch { background: #fff; border-radius: 8px; padding: 12px 16px; margin: 14px 0; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.batch.current { box-shadow: 0 0 0 3px #c9d8f7, 0 1px 3px rgba(0,0,0,.12); }
.batch h2 { margin: 0 0 8px; font-size: 18px; }
.row { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; width: 320px; }
figure img { width: 100%; display: block; border-radius: 4px; background: #ddd; min-height: 120px; object-fit: cover; }
figure.variant, figure.original { padding: 6px; border: 3px solid transparent; border-radius: 8px; }
figure.variant.focus { border-color: var(--focus); }
figure.variant.done { opacity: .45; }
figcaption { font-size: 13px; margin: 6px 0; }
.stars { color: #c98a00; font-size: 18px; letter-spacing: 2px; cursor: pointer; }
.cmp { position: relative; cursor: zoom-in; }
.cmp img.before { position: absolute; inset: 0; height: 100%; clip-path: inset(0 100% 0 0); pointer-events: none; }
.cmp .slider { position: absolute; left: 0; right: 0; bottom: 6px; width: 96%; margin: 0 2%; }
textarea.comment { width: 100%; box-sizing: border-box; font: inherit; font-size: 13px; }
button.submit { margin-top: 8px; padding: 6px 14px; border-radius: 6px; border: 0; background: var(--accent); color: #fff; font-weight: 600; cursor: pointer; }
#zoom { position: fixed; inset: 0; background: rgba(0,0,0,.88); z-index: 10; overflow: auto; display: flex; align-items: center; justify-content: center; cursor: zoom-out; }
#zoom[hidden] { display: none; }
#zoom img { max-width: 96vw; max-height: 96vh; }
#zoom.natural img { max-width: none; max-height: none; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; }
.stat { background: #fff; border-radius: 8px; padding: 10px 16px; min-width: 110px; box-shadow: 0 1px 3px rgba(0,0,0,.1); }
.stat .value { font-size: 26px; font-weight: 700; }
.stat .name { font-size: 12px; color: #666; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: 5px 9px; border-bottom: 1px solid #eee; text-align: left; font-size: 13px; vertical-align: top; }
td.thumb img { width: 96px; border-radius: 3px; display: block; }
iframe.report { width: 100%; height: 1500px; border: 0; background: #fff; border-radius: 8px; }
form.search { margin: 10px 0 14px; display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
form.search input { width: 120px; }
pre.prompt { white-space: pre-wrap; background: #fff; padding: 10px; border-radius: 6px; }
table.kv th { width: 170px; color: #555; }
figure.detail { width: 420px; }
ul.ratings { padding-left: 18px; }
.note, .more, .empty { color: #666; }
"#;

/// Every page: the designer's name, remembered in localStorage and in a
/// cookie, and restored into the box at the top.
pub(super) const COMMON_SCRIPT: &str = r#"
(() => {
  const box = document.getElementById('designer');
  const fromCookie = (document.cookie.split('; ').find(c => c.startsWith('latina_designer=')) || '').slice(16);
  box.value = localStorage.getItem('latina.designer') || decodeURIComponent(fromCookie || '');
  box.addEventListener('input', () => {
    localStorage.setItem('latina.designer', box.value);
    document.cookie = 'latina_designer=' + encodeURIComponent(box.value) + '; path=/; max-age=31536000; samesite=strict';
  });
  box.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === 'Escape') { e.preventDefault(); box.blur(); } });
})();
"#;

/// The queue's keyboard and submission.
pub(super) const QUEUE_SCRIPT: &str = r#"
(() => {
  const csrf = document.querySelector('meta[name=csrf]').content;
  const lan = document.querySelector('meta[name=lan]').content === 'true';
  const flash = document.getElementById('flash');
  const zoom = document.getElementById('zoom');
  const left = document.getElementById('left');
  let batches = [...document.querySelectorAll('.batch')];
  let b = 0, v = 0;
  const say = (text, ok) => { flash.textContent = text; flash.className = ok ? 'ok' : ''; };
  const variants = () => batches[b] ? [...batches[b].querySelectorAll('.variant')] : [];
  function show() {
    document.querySelectorAll('.focus').forEach(e => e.classList.remove('focus'));
    document.querySelectorAll('.batch.current').forEach(e => e.classList.remove('current'));
    const x = variants()[v];
    if (!x) return;
    batches[b].classList.add('current');
    x.classList.add('focus');
    x.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
  function setStars(x, n) {
    x.dataset.stars = n;
    x.querySelector('.stars').textContent = '★'.repeat(n) + '☆'.repeat(5 - n);
  }
  function openZoom(src) { zoom.querySelector('img').src = src; zoom.className = ''; zoom.hidden = false; }
  zoom.addEventListener('click', () => { zoom.hidden = true; });
  // A choice instead of stars: `best` better than each other render of the
  // batch still waiting, or (best = null) the focused one the same as each.
  async function choose(best) {
    const section = batches[b];
    if (!section) return;
    const name = document.getElementById('designer').value.trim();
    if (lan && !name) { say('Type your name at the top first.'); document.getElementById('designer').focus(); return; }
    const open = variants().filter(x => !x.classList.contains('done'));
    const first = best || variants()[v];
    const others = open.filter(x => x !== first);
    if (!first || first.classList.contains('done') || !others.length) { say('A choice needs two renders of this batch still waiting.'); return; }
    for (const x of others) {
      const body = new URLSearchParams({ csrf, better: first.dataset.id, worse: x.dataset.id,
        tie: best ? '0' : '1', comment: first.querySelector('textarea').value, designer: name });
      const r = await fetch('/prefer', { method: 'POST', headers: { 'Accept': 'application/json' }, body });
      if (!r.ok) { say(await r.text()); return; }
    }
    [first, ...others].forEach(x => x.classList.add('done'));
    say(best ? first.dataset.option + ' is the best of ' + (others.length + 1) + ': saved.' : 'The same: saved.', true);
    finish(section);
  }
  async function submit() {
    const section = batches[b];
    if (!section) return;
    const name = document.getElementById('designer').value.trim();
    if (lan && !name) { say('Type your name at the top first.'); document.getElementById('designer').focus(); return; }
    const todo = [...section.querySelectorAll('.variant')].filter(x => +x.dataset.stars > 0 && !x.classList.contains('done'));
    if (!todo.length) { say('Press 1–5 to give the focused render stars first.'); return; }
    for (const x of todo) {
      const body = new URLSearchParams({ csrf, id: x.dataset.id, stars: x.dataset.stars,
        comment: x.querySelector('textarea').value, designer: name });
      const r = await fetch('/rate', { method: 'POST', headers: { 'Accept': 'application/json' }, body });
      if (!r.ok) { say(await r.text()); return; }
      x.classList.add('done');
    }
    say('Saved ' + todo.length + ' rating' + (todo.length > 1 ? 's' : '') + '.', true);
    finish(section);
  }
  // After a save: on to the batch's next waiting render, or the batch leaves.
  function finish(section) {
    const rest = [...section.querySelectorAll('.variant')].filter(x => !x.classList.contains('done'));
    if (rest.length) { v = variants().indexOf(rest[0]); show(); return; }
    section.remove();
    batches = [...document.querySelectorAll('.batch')];
    if (left) left.textContent = document.querySelectorAll('.variant').length + ' unrated renders on this page';
    if (!batches.length) { location.reload(); return; }
    b = Math.min(b, batches.length - 1); v = 0; show();
  }
  document.querySelectorAll('.batch').forEach(section => {
    section.querySelector('.submit').addEventListener('click', () => { b = batches.indexOf(section); submit(); });
  });
  document.querySelectorAll('.variant').forEach(x => {
    x.addEventListener('click', () => {
      const section = x.closest('.batch');
      b = batches.indexOf(section); v = variants().indexOf(x); show();
    });
    x.querySelector('.stars').addEventListener('click', e => {
      const r = e.target.getBoundingClientRect();
      setStars(x, Math.min(5, Math.max(1, Math.ceil((e.clientX - r.left) / r.width * 5))));
    });
    const slider = x.querySelector('.slider');
    if (slider) {
      const before = x.querySelector('img.before');
      slider.addEventListener('input', () => { before.style.clipPath = 'inset(0 ' + (100 - slider.value) + '% 0 0)'; });
      slider.addEventListener('click', e => e.stopPropagation());
    }
    x.querySelector('.cmp img.after').addEventListener('dblclick', e => openZoom(e.target.dataset.full));
  });
  document.querySelectorAll('figure.original img').forEach(img => img.addEventListener('dblclick', () => openZoom(img.dataset.full)));
  document.addEventListener('keydown', e => {
    const t = e.target;
    if (t.tagName === 'TEXTAREA') {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); t.blur(); submit(); }
      else if (e.key === 'Escape') { t.blur(); }
      return;
    }
    if (t.tagName === 'INPUT' && t.type !== 'range') return;
    if (!zoom.hidden) {
      if (e.key === 'Escape' || e.key === 'z') { zoom.hidden = true; }
      else if (e.key === '+' || e.key === '=') { zoom.classList.toggle('natural'); }
      e.preventDefault(); return;
    }
    const x = variants()[v];
    const picked = /^[A-Z]$/.test(e.key) ? variants().find(y => y.dataset.option === e.key) : null;
    if (/^[1-5]$/.test(e.key) && x) { setStars(x, +e.key); }
    else if (picked) { choose(picked); }
    else if (e.key === '=') { choose(null); }
    else if (e.key === 'ArrowRight') { v = Math.min(v + 1, variants().length - 1); show(); }
    else if (e.key === 'ArrowLeft') { v = Math.max(v - 1, 0); show(); }
    else if (e.key === 'ArrowDown') { b = Math.min(b + 1, batches.length - 1); v = 0; show(); }
    else if (e.key === 'ArrowUp') { b = Math.max(b - 1, 0); v = 0; show(); }
    else if (e.key === 'c' && x) { x.querySelector('textarea').focus(); }
    else if (e.key === 'z' && x) { openZoom(x.querySelector('img.after').dataset.full); }
    else if (e.key === 'Enter') { submit(); }
    else return;
    e.preventDefault();
  });
  show();
})();
"#;

/// The dashboard's live numbers: poll the cheap `/api/mark`; when it moved
/// (a rating, a preference, a render), fetch `/api/status`, refill the
/// numbers and reload the charts.
pub(super) const DASHBOARD_SCRIPT: &str = r#"
(() => {
  let seen = null;
  const set = (id, text) => { const e = document.getElementById(id); if (e) e.textContent = text; };
  async function refresh() {
    const r = await fetch('/api/status', { headers: { 'Accept': 'application/json' } });
    if (!r.ok) return;
    const s = await r.json();
    const p = s.phase1;
    set('samples', p.total_samples);
    set('best', p.best_rating.toFixed(0));
    set('average', s.avg_rating == null ? '–' : s.avg_rating.toFixed(2));
    set('convergence', Math.round(p.convergence * 100) + '%');
    set('phase', p.phase);
    set('unrated', s.unrated);
    set('preferences', s.preferences);
    set('failed', s.failed);
    set('cost', '$' + s.total_cost_usd.toFixed(2));
    const t = document.getElementById('providers');
    while (t.rows.length > 1) t.deleteRow(1);
    for (const [name, a] of Object.entries(s.performance_by_api)) {
      const row = t.insertRow();
      for (const v of [name, a.count, a.avg_rating.toFixed(2), Math.round(a.success_rate * 100) + '%', a.renders, a.failed]) row.insertCell().textContent = v;
    }
    document.getElementById('report').contentWindow.location.reload();
  }
  async function tick() {
    try {
      const r = await fetch('/api/mark');
      if (!r.ok) return;
      const mark = (await r.json()).mark;
      if (seen !== null && mark !== seen) await refresh();
      seen = mark;
      set('updated', 'live · checked ' + new Date().toLocaleTimeString());
    } catch (e) { set('updated', 'offline'); }
  }
  tick();
  setInterval(tick, 3000);
})();
"#;
