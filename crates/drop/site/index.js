/* The catalogue page. ES5 only (Chrome 49, Firefox 52, and as far as
   possible older engines): no block-scoped declarations, arrow functions,
   template strings or promises. The data comes from data.js, loaded
   before this file as a classic script: pages opened from a card may make
   no requests. */
(function () {
  'use strict';

  var KINDS = [
    ['video', '영상'],
    ['audio', '음악과 소리'],
    ['book', '책'],
    ['text', '글'],
    ['image', '사진과 그림'],
    ['archive', '묶음 파일']
  ];
  var NO_PLAY = '이 브라우저에서는 이 파일을 재생할 수 없습니다. ' +
    '노트텔에서 보거나, 컴퓨터에서는 VLC 같은 재생 프로그램으로 여십시오.';

  var items = window.ITEMS || [];
  var rows = [];
  var groups = [];

  function byId(id) { return document.getElementById(id); }

  function on(el, ev, fn) {
    if (el.addEventListener) { el.addEventListener(ev, fn, false); }
    else if (el.attachEvent) { el.attachEvent('on' + ev, fn); }
  }

  function setText(el, s) {
    if (typeof el.textContent === 'string') { el.textContent = s; }
    else { el.innerText = s; }
  }

  function make(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (text !== undefined && text !== null) { setText(el, String(text)); }
    return el;
  }

  /* Search text: composed (NFC) where the browser can, lower case, no
     spaces, so that "사랑의불시착" finds "사랑의 불시착". */
  function norm(s) {
    s = String(s === undefined || s === null ? '' : s);
    if (s.normalize) {
      try { s = s.normalize('NFC'); } catch (e) { /* keep s */ }
    }
    return s.toLowerCase().replace(/\s+/g, '');
  }

  function words(q) {
    var parts = String(q).split(/\s+/);
    var out = [];
    for (var i = 0; i < parts.length; i++) {
      var w = norm(parts[i]);
      if (w) { out.push(w); }
    }
    return out;
  }

  /* Does the title already say "3화" (not as part of "13화")? */
  function saysEpisode(title, n) {
    return new RegExp('(^|[^0-9])' + n + '\\s*화').test(title);
  }

  function sizeText(n) {
    if (n >= 1073741824) { return (n / 1073741824).toFixed(1) + ' GB'; }
    if (n >= 1048576) { return Math.round(n / 1048576) + ' MB'; }
    if (n >= 1024) { return Math.round(n / 1024) + ' KB'; }
    return n + ' B';
  }

  function two(n) { return (n < 10 ? '0' : '') + n; }

  function timeText(sec) {
    sec = Math.round(sec);
    var h = Math.floor(sec / 3600);
    var m = Math.floor((sec % 3600) / 60);
    var s = sec % 60;
    return (h ? h + ':' + two(m) : String(m)) + ':' + two(s);
  }

  /* A path on the volume as a relative URL: each part percent-encoded
     as UTF-8, which every browser maps back to the file name. */
  function href(path) {
    var parts = String(path).split('/');
    for (var i = 0; i < parts.length; i++) { parts[i] = encodeURIComponent(parts[i]); }
    return parts.join('/');
  }

  function canPlay(tag) {
    var el = document.createElement(tag);
    return !!(el && el.canPlayType);
  }

  function play(row, btn) {
    if (row.media) {
      row.box.removeChild(row.media);
      row.media = null;
      if (row.err) { row.box.removeChild(row.err); row.err = null; }
      setText(btn, '재생');
      return;
    }
    var tag = row.item.kind === 'video' ? 'video' : 'audio';
    if (!canPlay(tag)) {
      showError(row);
      return;
    }
    var m = document.createElement(tag);
    m.controls = true;
    m.preload = 'metadata';
    on(m, 'error', function () { showError(row); });
    m.src = href(row.item.path);
    row.media = m;
    row.box.appendChild(m);
    setText(btn, '닫기');
    try { m.play(); } catch (e) { /* the error event reports it */ }
  }

  function showError(row) {
    if (row.err) { return; }
    row.err = make('p', 'err', NO_PLAY);
    row.box.appendChild(row.err);
  }

  function render() {
    var list = byId('list');
    for (var k = 0; k < KINDS.length; k++) {
      var kind = KINDS[k][0];
      var mine = [];
      for (var i = 0; i < items.length; i++) {
        if (items[i].kind === kind) { mine.push(items[i]); }
      }
      if (!mine.length) { continue; }
      var sec = make('div', 'group');
      var h = make('h2', null, KINDS[k][1] + ' (' + mine.length + ')');
      var ul = make('ul', 'items');
      sec.appendChild(h);
      sec.appendChild(ul);
      list.appendChild(sec);
      var group = { sec: sec, shown: 0 };
      groups.push(group);
      for (var j = 0; j < mine.length; j++) {
        var row = renderItem(mine[j], ul);
        row.group = group;
        rows.push(row);
      }
    }
  }

  function renderItem(it, ul) {
    var li = make('li', 'item');
    var row = { item: it, box: li, media: null, err: null };
    var acts = make('div', 'acts');
    var a = make('a', null, '파일 열기');
    a.href = href(it.path);
    if (it.kind === 'video' || it.kind === 'audio') {
      var b = make('button', null, '재생');
      try { b.type = 'button'; } catch (e) { /* IE8 refuses; a lone button submits nothing */ }
      on(b, 'click', (function (r, btn) { return function () { play(r, btn); }; })(row, b));
      acts.appendChild(b);
    }
    acts.appendChild(a);
    li.appendChild(acts);
    /* An episode shows its number in the title line; the series only when
       the title does not already name it. */
    var title = it.title || it.series || '';
    if (it.episode && !saysEpisode(title, it.episode)) { title += ' ' + it.episode + '화'; }
    li.appendChild(make('div', 'title', title));
    var meta = [];
    if (it.series && norm(title).indexOf(norm(it.series)) < 0) { meta.push(it.series); }
    if (it.duration) { meta.push(timeText(it.duration)); }
    meta.push(sizeText(it.size || 0));
    if (it.lang && it.lang !== 'ko') { meta.push(it.lang); }
    li.appendChild(make('div', 'meta', meta.join(' · ')));
    if (it.desc) { li.appendChild(make('div', 'desc', it.desc)); }
    if (it.tags && it.tags.length) { li.appendChild(make('div', 'tags', '# ' + it.tags.join('  # '))); }
    row.hay = norm(it.title) + '\n' + norm(it.series) + '\n' + norm((it.tags || []).join('\n'));
    ul.appendChild(li);
    return row;
  }

  function search(q) {
    var ws = words(q);
    var shown = 0;
    var i;
    for (i = 0; i < groups.length; i++) { groups[i].shown = 0; }
    for (i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = true;
      for (var w = 0; w < ws.length && ok; w++) {
        if (r.hay.indexOf(ws[w]) < 0) { ok = false; }
      }
      r.box.className = ok ? 'item' : 'item off';
      if (ok) { shown++; r.group.shown++; }
    }
    for (i = 0; i < groups.length; i++) {
      groups[i].sec.className = groups[i].shown ? 'group' : 'group off';
    }
    setText(byId('count'), ws.length
      ? '찾은 자료 ' + shown + '개 / 전체 ' + rows.length + '개'
      : '전체 ' + rows.length + '개');
    byId('none').className = (ws.length && !shown) ? 'note' : 'note off';
  }

  function fromHash() {
    var h = String(window.location.hash || '');
    var m = /^#q=(.*)$/.exec(h);
    if (!m) { return null; }
    try { return decodeURIComponent(m[1].replace(/\+/g, ' ')); } catch (e) { return m[1]; }
  }

  function start() {
    render();
    var q = byId('q');
    var last = null;
    var run = function () {
      if (q.value !== last) { last = q.value; search(q.value); }
    };
    var hq = fromHash();
    if (hq !== null) { q.value = hq; }
    run();
    on(q, 'input', run);
    on(q, 'keyup', run);
    on(q, 'change', run);
    on(byId('clear'), 'click', function () { q.value = ''; run(); q.focus(); });
    on(window, 'hashchange', function () {
      var v = fromHash();
      if (v !== null) { q.value = v; run(); }
    });
  }

  start();
}());
