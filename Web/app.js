// Nautilus live map: vehicles, tracks, pictures, climate and uplink handovers from monnemo-server, live over SSE.
'use strict';

const COLORS = ['#d7263d', '#1b998b', '#2e86de', '#f49d37', '#8e44ad', '#3f784c'];
const state = {
  map: null,
  vehicles: new Map(),   // id -> vehicle view
  selected: null,
  follow: false,
  replayTime: null,      // null = live, else ms since epoch
  range: { min: null, max: null },
};

// The access technology of the uplink carrying a vehicle's traffic (SONAR handover records): the
// track is coloured by it, from each handover's `to_tech`. Before a vehicle's first handover, or
// after one that names no technology, the track is `none` (neutral). style.css has the same colours.
const TECHS = ['wlan', 'cellular', 'ethernet', 'satellite', 'other'];
const TECH_COLORS = {
  wlan: '#2e86de', cellular: '#f49d37', ethernet: '#3f784c', satellite: '#8e44ad', other: '#d7263d', none: '#8a8f94',
};
const TECH_NAMES = {
  wlan: 'WLAN', cellular: 'Cellular', ethernet: 'Ethernet', satellite: 'Satellite', other: 'Other', none: 'Unknown',
};
// Handovers listed in the vehicle panel.
const RECENT_HANDOVERS = 5;

function $(id) { return document.getElementById(id); }

function fmtTime(ms) {
  if (ms == null) return '–';
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function fmtAgo(ms) {
  if (ms == null) return 'never';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 129600) return Math.round(s / 3600) + ' h ago';
  return fmtTime(ms);
}

function num(v, digits, unit) {
  return (v == null || Number.isNaN(v)) ? '–' : v.toFixed(digits) + unit;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(url + ' answered ' + r.status);
  return r.json();
}

// Reads are paged (docs/telemetry-api.md: at most PAGE_LIMIT per answer); these follow the pages,
// up to MAX_PAGES of them, asking for the largest page the server gives.
const PAGE_LIMIT = 5000;
const MAX_PAGES = 40;

function withLimit(url) {
  return url + (url.includes('?') ? '&' : '?') + 'limit=' + PAGE_LIMIT;
}

// A JSON array endpoint (readings, pictures): follows the `Link: <…>; rel="next"` header.
async function getAllRows(url) {
  let rows = [];
  let next = withLimit(url);
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const r = await fetch(next, { headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(next + ' answered ' + r.status);
    rows = rows.concat(await r.json());
    const link = r.headers.get('Link');
    const m = link && link.match(/<([^>]+)>;\s*rel="next"/);
    next = m ? m[1] : null;
  }
  return rows;
}

// A GeoJSON track: follows `properties.next` (the time the next page starts from).
async function getWholeTrack(url) {
  let coords = [], times = [], speeds = [];
  let from = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const gj = await getJSON(withLimit(url) + (from ? '&from=' + encodeURIComponent(from) : ''));
    const f = gj.features[0];
    // A page starts at the time the previous one stopped (inclusive): skip the points already had.
    let skip = 0;
    const last = times.length ? times[times.length - 1] : null;
    while (last !== null && skip < f.properties.timesMs.length && f.properties.timesMs[skip] <= last) skip++;
    coords = coords.concat(f.geometry.coordinates.slice(skip));
    times = times.concat(f.properties.timesMs.slice(skip));
    speeds = speeds.concat(f.properties.speeds.slice(skip));
    if (!f.properties.next || f.properties.next === from) break;
    from = f.properties.next;
  }
  return { coords, times, speeds };
}

// Metres per screen pixel at a zoom level: the track is fetched simplified to about one pixel.
function metresPerPixel(zoom, lat) {
  return 156543.03 * Math.cos(lat * Math.PI / 180) / Math.pow(2, zoom);
}

// Every string from the server (vehicle ids and names, picture URLs, readings) goes into the page as
// text or as an attribute set through the DOM, never as markup: a vehicle named
// `<img src=x onerror=alert(1)>` shows as those characters. The page builds no HTML strings, so it
// also satisfies the Content-Security-Policy the server sends (no inline script or style).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, val] of Object.entries(attrs || {})) {
    if (val == null) continue;
    if (k === 'class') e.className = val;
    else if (k === 'data') Object.assign(e.dataset, val);
    else if (k === 'style') Object.assign(e.style, val);
    else e.setAttribute(k, val);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

// Only the server's own paths: a picture URL that is not one is dropped.
function ownURL(u) { return typeof u === 'string' && /^\/[^/\\]/.test(u) ? u : null; }

function vehiclePath(id) { return '/api/v1/vehicles/' + encodeURIComponent(id); }

function markerIcon(v) {
  return L.divIcon({
    className: '',
    html: el('div', { class: 'vehicle-marker', data: { vehicle: v.id }, style: { background: v.color } }),
    iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -10],
  });
}

function popupContent(v) {
  const url = v.picture && ownURL(v.picture.url);
  return el('div', { class: 'popup', data: { vehicle: v.id } },
    el('strong', null, v.name),
    el('dl', null,
      el('dt', null, 'Temperature'), el('dd', { class: 'p-temp' }, num(v.climate && v.climate.temperature, 1, ' °C')),
      el('dt', null, 'Humidity'), el('dd', { class: 'p-hum' }, num(v.climate && v.climate.humidity, 0, ' %')),
      el('dt', null, 'Speed'), el('dd', null, num(v.fix && v.fix.speed != null ? v.fix.speed * 3.6 : null, 1, ' km/h')),
      el('dt', null, 'Last seen'), el('dd', null, fmtAgo(v.lastSeen)),
      v.handover ? el('dt', null, 'Uplink') : null,
      v.handover ? el('dd', { class: 'p-uplink' }, v.handover.to + ' (' + TECH_NAMES[techOf(v.handover)] + ')') : null),
    url ? el('img', { src: url, alt: 'Latest picture from ' + v.name }) : null);
}

function makeVehicle(info, index) {
  const v = {
    id: info.id, name: info.name, color: COLORS[index % COLORS.length],
    fix: info.fix, climate: info.climate, picture: info.picture,
    lastSeen: info.lastSeen ? Date.parse(info.lastSeen) : null,
    lats: [], lons: [], times: [], tolerance: null,
    climateSeries: [], pictures: [], thumbs: L.layerGroup(),
    handover: info.handover || null,  // the latest public handover: the current uplink
    handovers: [], handoverTimes: [], // every handover loaded, oldest first (each with `t`, ms)
    techLayer: L.layerGroup(), segments: [], handoverLayer: L.layerGroup(),
    marker: null, line: null, listButton: null,
  };
  v.line = L.polyline([], { color: v.color, weight: 3, opacity: 0.8 }).addTo(state.map);
  v.techLayer.addTo(state.map);
  v.handoverLayer.addTo(state.map);
  v.thumbs.addTo(state.map);
  if (info.fix) {
    v.marker = L.marker([info.fix.lat, info.fix.lon], { icon: markerIcon(v), keyboard: true, title: v.name, alt: v.name })
      .addTo(state.map).bindPopup(() => popupContent(v));
    v.marker.on('click', () => select(v.id));
  }
  return v;
}

function ensureMarker(v, lat, lon) {
  if (!v.marker) {
    v.marker = L.marker([lat, lon], { icon: markerIcon(v), keyboard: true, title: v.name, alt: v.name })
      .addTo(state.map).bindPopup(() => popupContent(v));
    v.marker.on('click', () => select(v.id));
  } else {
    v.marker.setLatLng([lat, lon]);
  }
  if (v.marker.isPopupOpen()) v.marker.setPopupContent(popupContent(v));
}

function renderList() {
  const list = $('vehicle-list');
  list.textContent = '';
  for (const v of state.vehicles.values()) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('aria-pressed', String(state.selected === v.id));
    b.dataset.vehicle = v.id;
    b.append(
      el('span', { class: 'swatch', style: { background: v.color } }),
      el('span', { class: 'name' }, el('span', { class: 'vehicle-name' }, v.name), el('br'),
        el('span', { class: 'meta' }, num(v.climate && v.climate.temperature, 1, ' °C') + ' · ' +
          num(v.climate && v.climate.humidity, 0, ' %'))),
      el('span', { class: 'meta' }, fmtAgo(v.lastSeen)));
    b.addEventListener('click', () => { select(v.id); if (v.marker) { state.map.panTo(v.marker.getLatLng()); v.marker.openPopup(); } });
    li.appendChild(b);
    list.appendChild(li);
    v.listButton = b;
  }
}

function renderDetails() {
  const v = state.vehicles.get(state.selected);
  const box = $('details');
  if (!v) { box.hidden = true; return; }
  box.hidden = false;
  $('details-title').textContent = v.name;
  const c = climateAt(v);
  $('d-temp').textContent = num(c && c.temperature, 1, ' °C');
  $('d-hum').textContent = num(c && c.humidity, 0, ' %');
  $('d-speed').textContent = num(v.fix && v.fix.speed != null ? v.fix.speed * 3.6 : null, 1, ' km/h');
  $('d-seen').textContent = fmtAgo(v.lastSeen);
  renderUplink(v);
  renderLive(v);
  const pic = pictureAt(v);
  const picURL = pic && ownURL(pic.url);
  $('d-picture-box').hidden = !picURL;
  if (picURL) {
    if ($('d-picture').getAttribute('src') !== picURL) $('d-picture').src = picURL;
    $('d-picture-time').textContent = fmtTime(Date.parse(pic.time));
  }
  $('x-geojson').href = vehiclePath(v.id) + '/track';
  $('x-gpx').href = vehiclePath(v.id) + '/track.gpx';
  $('x-h-geojson').href = vehiclePath(v.id) + '/handovers.geojson';
  $('x-h-csv').href = vehiclePath(v.id) + '/handovers.csv';
  drawChart($('chart-temp'), v, 'temperature', '#d7263d');
  drawChart($('chart-hum'), v, 'humidity', '#2e86de');
}

// The current uplink (at the replay time when replaying) and the last few handovers.
function renderUplink(v) {
  const shown = handoversUpTo(v);
  const current = state.replayTime == null ? (v.handover || shown[shown.length - 1]) : shown[shown.length - 1];
  $('d-uplink').textContent = current
    ? current.to + ' (' + TECH_NAMES[techOf(current)] + ')' : '–';
  $('d-uplink').dataset.tech = current ? techOf(current) : '';
  const list = $('d-handovers');
  list.textContent = '';
  const recent = shown.slice(-RECENT_HANDOVERS).reverse();
  for (const h of recent) {
    list.appendChild(el('li', { class: 'handover-item', data: { tech: techOf(h), seq: String(h.seq) } },
      el('span', { class: 'tech-swatch tech-' + techOf(h) }),
      fmtTime(h.t) + ': ' + routeText(h) + ' ' + techText(h) + ', ' + (h.cause || '–')));
  }
  if (!recent.length) list.appendChild(el('li', { class: 'meta' }, 'no handovers'));
}

// Live video (xcast6 → MJPEG): shown when the server's config lists a stream for this vehicle.
function renderLive(v) {
  // The operator's --live-video URL (an xcast6 recv --serve stream, often on another host): http(s) only.
  const configured = (state.liveVideo || {})[v.id];
  const url = typeof configured === 'string' && /^https?:\/\//.test(configured) ? configured : null;
  const img = $('d-live');
  img.hidden = !url;
  $('d-live-caption').textContent = url ? 'live video' : 'no live video';
  if (url && img.getAttribute('src') !== url) img.src = url;
  if (!url && img.getAttribute('src')) img.removeAttribute('src');
}

function climateAt(v) {
  if (state.replayTime == null) return v.climate;
  let best = null;
  for (const c of v.climateSeries) { if (c.t <= state.replayTime) best = c; else break; }
  return best;
}

function pictureAt(v) {
  if (state.replayTime == null) return v.picture;
  let best = null;
  for (const p of v.pictures) { if (Date.parse(p.time) <= state.replayTime) best = p; }
  return best;
}

function drawChart(svg, v, key, color) {
  const upTo = state.replayTime == null ? Infinity : state.replayTime;
  const pts = v.climateSeries.filter((c) => c[key] != null && c.t <= upTo);
  svg.textContent = '';
  const ns = 'http://www.w3.org/2000/svg';
  if (pts.length < 2) {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', '8'); t.setAttribute('y', '48');
    t.textContent = pts.length ? 'one reading: ' + pts[0][key] : 'no readings yet';
    svg.appendChild(t);
    return;
  }
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
  let lo = Infinity, hi = -Infinity;
  for (const p of pts) { lo = Math.min(lo, p[key]); hi = Math.max(hi, p[key]); }
  if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('stroke', color);
  line.setAttribute('points', pts.map((p) =>
    (4 + 292 * (p.t - t0) / Math.max(1, t1 - t0)).toFixed(1) + ',' + (84 - 76 * (p[key] - lo) / (hi - lo)).toFixed(1)).join(' '));
  svg.appendChild(line);
  for (const [y, val] of [[12, hi], [86, lo]]) {
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', '4'); label.setAttribute('y', String(y));
    label.textContent = val.toFixed(1);
    svg.appendChild(label);
  }
}

async function select(id) {
  state.selected = id;
  for (const v of state.vehicles.values()) {
    if (v.listButton) v.listButton.setAttribute('aria-pressed', String(v.id === id));
  }
  const v = state.vehicles.get(id);
  renderDetails();
  if (v && !v.climateLoaded) {
    v.climateLoaded = true;
    try {
      const rows = await getAllRows(vehiclePath(id) + '/readings?kind=climate');
      v.climateSeries = rows.map((r) => ({ t: Date.parse(r.time), temperature: r.temperature, humidity: r.humidity }));
      renderDetails();
    } catch (e) {
      setStatus('Could not load climate readings: ' + e.message);
    }
  }
}

async function loadTrack(v) {
  const center = state.map.getCenter();
  const tolerance = Math.max(0.5, metresPerPixel(state.map.getZoom(), center.lat) / 2);
  const track = await getWholeTrack(vehiclePath(v.id) + '/track?simplify=' + tolerance.toFixed(1));
  v.lats = track.coords.map((c) => c[1]);
  v.lons = track.coords.map((c) => c[0]);
  v.times = track.times;
  v.tolerance = tolerance;
  updateRange(v.times[0], v.times[v.times.length - 1]);
  drawTrack(v);
}

async function loadPictures(v) {
  const pics = await getAllRows(vehiclePath(v.id) + '/pictures');
  v.pictures = pics.slice(-60);
  v.thumbs.clearLayers();
  for (const p of v.pictures) addThumb(v, p);
}

function addThumb(v, p) {
  const url = ownURL(p.url);
  if (p.lat == null || p.lon == null || !url) return;
  const time = Date.parse(p.time);
  const icon = L.divIcon({ className: 'thumb-marker', html: el('img', { src: url, alt: 'Picture at ' + fmtTime(time), loading: 'lazy' }),
    iconSize: [36, 27], iconAnchor: [18, 32] });
  const m = L.marker([p.lat, p.lon], { icon, title: 'Picture ' + fmtTime(time) });
  m.pictureTime = time;
  m.bindPopup(() => el('div', { class: 'picture-popup' },
    el('img', { src: url, alt: 'Picture from ' + v.name }), el('br'), fmtTime(time)));
  v.thumbs.addLayer(m);
}

function indexAtOrBefore(times, t) {
  let lo = 0, hi = times.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return best;
}

function drawTrack(v) {
  let n = v.times.length;
  if (state.replayTime != null) n = indexAtOrBefore(v.times, state.replayTime) + 1;
  const latlngs = new Array(n);
  for (let i = 0; i < n; i++) latlngs[i] = [v.lats[i], v.lons[i]];
  v.line.setLatLngs(latlngs);
  drawSegments(v, n);
  drawHandoverMarkers(v);
  if (state.replayTime != null) {
    if (n > 0) ensureMarker(v, v.lats[n - 1], v.lons[n - 1]);
    v.thumbs.eachLayer((m) => m.setOpacity(m.pictureTime <= state.replayTime ? 1 : 0));
  } else {
    v.thumbs.eachLayer((m) => m.setOpacity(1));
  }
}

// MARK: Uplink technology and handovers

function techOf(h) { return h && TECHS.includes(h.to_tech) ? h.to_tech : 'none'; }
function routeText(h) { return (h.from || '–') + ' → ' + (h.to || '–'); }
function techText(h) { return '(' + (h.from_tech || '?') + ' → ' + (h.to_tech || '?') + ')'; }

// The handovers at or before the replay time (all of them when live).
function handoversUpTo(v) {
  if (state.replayTime == null) return v.handovers;
  return v.handovers.slice(0, indexAtOrBefore(v.handoverTimes, state.replayTime) + 1);
}

// The technology in effect at time t: the latest handover at or before it.
function techAt(v, t) {
  const k = indexAtOrBefore(v.handoverTimes, t);
  return k >= 0 ? techOf(v.handovers[k]) : 'none';
}

// The first n track points as polylines, one per run of the same technology. A run ends where the
// track was at the handover's time (between two track points, linear in time: the track is
// simplified, so a straight stretch may have no point near the handover) and the next starts
// there, so the track stays continuous. A vehicle without handovers keeps its plain line; with
// them, its line becomes a wide casing (its colour) under the segments.
function drawSegments(v, n) {
  v.techLayer.clearLayers();
  v.segments = [];
  const coloured = v.handovers.length > 0;
  v.line.setStyle(coloured ? { weight: 9, opacity: 0.3 } : { weight: 3, opacity: 0.8 });
  if (!coloured) return;
  showLegend();
  if (n < 2) return;
  let k = indexAtOrBefore(v.handoverTimes, v.times[0]);
  let tech = k >= 0 ? techOf(v.handovers[k]) : 'none';
  let pts = [[v.lats[0], v.lons[0]]];
  for (let i = 1; i < n; i++) {
    while (k + 1 < v.handovers.length && v.handoverTimes[k + 1] <= v.times[i]) {
      k++;
      const t = techOf(v.handovers[k]);
      if (t === tech) continue;
      const p = trackPointAt(v, i, v.handoverTimes[k]);
      pts.push(p);
      addSegment(v, tech, pts);
      pts = [p];
      tech = t;
    }
    pts.push([v.lats[i], v.lons[i]]);
  }
  addSegment(v, tech, pts);
}

// Where the track was at time t, between its points i-1 and i (linear in time).
function trackPointAt(v, i, t) {
  const t0 = v.times[i - 1], t1 = v.times[i];
  const f = t1 > t0 ? Math.min(1, Math.max(0, (t - t0) / (t1 - t0))) : 1;
  return [v.lats[i - 1] + f * (v.lats[i] - v.lats[i - 1]), v.lons[i - 1] + f * (v.lons[i] - v.lons[i - 1])];
}

function addSegment(v, tech, latlngs) {
  if (latlngs.length < 2) return;
  const seg = L.polyline(latlngs, {
    renderer: state.svg, color: TECH_COLORS[tech], weight: 4, opacity: 0.95, interactive: false,
    className: 'track-tech track-tech-' + tech,
  });
  seg.tech = tech;
  v.techLayer.addLayer(seg);
  v.segments.push(seg);
  const e = seg.getElement && seg.getElement();
  if (e) { e.dataset.tech = tech; e.dataset.vehicle = v.id; }
}

// A fix appended live: the last segment grows; when a handover changed the technology since the
// point before, the segments are drawn again (handovers are rare).
function extendSegments(v) {
  const n = v.times.length;
  if (!v.handovers.length || n < 2) return;
  const last = v.segments[v.segments.length - 1];
  if (last && last.tech === techAt(v, v.times[n - 1]) && last.tech === techAt(v, v.times[n - 2])) {
    last.addLatLng([v.lats[n - 1], v.lons[n - 1]]);
  } else {
    drawSegments(v, n);
  }
}

// Where a handover is drawn: its own position, else where the track was at its time (the nearest
// end of the track when the handover is outside it).
function handoverPosition(v, h) {
  if (typeof h.lat === 'number' && typeof h.lon === 'number') return [h.lat, h.lon];
  const n = v.times.length;
  if (!n) return null;
  const i = indexAtOrBefore(v.times, h.t);
  if (i < 0) return [v.lats[0], v.lons[0]];
  if (i >= n - 1) return [v.lats[n - 1], v.lons[n - 1]];
  return trackPointAt(v, i + 1, h.t);
}

function drawHandoverMarkers(v) {
  v.handoverLayer.clearLayers();
  for (const h of handoversUpTo(v)) {
    const pos = handoverPosition(v, h);
    if (!pos) continue;
    const tech = techOf(h);
    const estimated = typeof h.lat !== 'number';
    const m = L.circleMarker(pos, {
      renderer: state.svg, radius: 6, weight: 2, color: '#1d1d1d', fillColor: TECH_COLORS[tech], fillOpacity: 1,
      className: 'handover-marker handover-marker-' + tech + (estimated ? ' handover-marker-estimated' : ''),
    });
    m.bindPopup(() => handoverPopup(v, h));
    v.handoverLayer.addLayer(m);
    const e = m.getElement && m.getElement();
    if (e) { e.dataset.vehicle = v.id; e.dataset.seq = String(h.seq); e.dataset.tech = tech; }
  }
}

function handoverPopup(v, h) {
  const ms = (x, digits) => (typeof x === 'number' ? num(x, digits, ' ms') : '–');
  return el('div', { class: 'handover-popup', data: { vehicle: v.id, seq: String(h.seq) } },
    el('strong', { class: 'h-route' }, routeText(h)), ' ', el('span', { class: 'h-tech' }, techText(h)),
    el('dl', null,
      el('dt', null, 'Cause'), el('dd', { class: 'h-cause' }, h.cause || '–'),
      el('dt', null, 'Registration delay'), el('dd', { class: 'h-delay' }, ms(h.delay_ms, 1)),
      el('dt', null, 'Outage'), el('dd', { class: 'h-outage' }, ms(h.outage_ms, 0)),
      el('dt', null, 'Packets lost'), el('dd', { class: 'h-lost' }, typeof h.lost === 'number' ? String(h.lost) : '–'),
      el('dt', null, 'Time'), el('dd', { class: 'h-time' }, fmtTime(h.t))),
    typeof h.lat === 'number' ? null : el('p', { class: 'meta' }, 'Position: where the track was at that time'));
}

// Adds handovers (from the readings or the live feed) in time order, each once.
function addHandovers(v, recs) {
  const known = new Set(v.handovers.map((h) => h.seq));
  for (const rec of recs) {
    if (!rec || typeof rec.to !== 'string' || known.has(rec.seq)) continue;
    const t = Date.parse(rec.time);
    if (Number.isNaN(t)) continue;
    known.add(rec.seq);
    v.handovers.push(Object.assign({}, rec, { t }));
  }
  v.handovers.sort((a, b) => a.t - b.t || a.seq - b.seq);
  v.handoverTimes = v.handovers.map((h) => h.t);
}

async function loadHandovers(v) {
  addHandovers(v, await getAllRows(vehiclePath(v.id) + '/readings?kind=handover'));
  if (v.handovers.length) updateRange(v.handoverTimes[0], v.handoverTimes[v.handoverTimes.length - 1]);
  drawTrack(v);
  if (state.selected === v.id) renderDetails();
}

function showLegend() { if (state.legend) state.legend.hidden = false; }

// The colours of the tracks, shown once some vehicle has handovers.
function addLegend() {
  const control = L.control({ position: 'bottomright' });
  control.onAdd = () => {
    const box = el('div', { class: 'tech-legend', id: 'tech-legend', role: 'group', 'aria-label': 'Track colour: uplink technology' },
      el('strong', null, 'Uplink'),
      ...TECHS.concat(['none']).map((t) => el('div', { class: 'tech-legend-item', data: { tech: t } },
        el('span', { class: 'tech-swatch tech-' + t }), TECH_NAMES[t])),
      el('div', { class: 'tech-legend-item' }, el('span', { class: 'handover-swatch' }), 'Handover'));
    box.hidden = true;
    state.legend = box;
    return box;
  };
  control.addTo(state.map);
}

function updateRange(lo, hi) {
  if (lo == null || hi == null) return;
  state.range.min = state.range.min == null ? lo : Math.min(state.range.min, lo);
  state.range.max = state.range.max == null ? hi : Math.max(state.range.max, hi);
}

function setStatus(text) { $('status').textContent = text; }

function onFix(rec) {
  const v = state.vehicles.get(rec.vehicle);
  if (!v) { refreshVehicles().catch(() => scheduleRefresh()); return; }
  const t = Date.parse(rec.time);
  v.fix = rec;
  v.lastSeen = Math.max(v.lastSeen || 0, t);
  // Keep the track in time order (a vehicle catching up after an outage sends older fixes late).
  let i = v.times.length;
  while (i > 0 && v.times[i - 1] > t) i--;
  v.times.splice(i, 0, t); v.lats.splice(i, 0, rec.lat); v.lons.splice(i, 0, rec.lon);
  updateRange(t, t);
  if (state.replayTime == null) {
    if (i === v.times.length - 1) {
      ensureMarker(v, rec.lat, rec.lon);
      v.line.addLatLng([rec.lat, rec.lon]);
      extendSegments(v);
    } else {
      drawTrack(v);
    }
    if (state.follow && state.selected === v.id) state.map.panTo([rec.lat, rec.lon], { animate: true });
  }
  if (state.selected === v.id) renderDetails();
}

function onClimate(rec) {
  const v = state.vehicles.get(rec.vehicle);
  if (!v) return;
  const t = Date.parse(rec.time);
  if (!v.climate || Date.parse(v.climate.time) <= t) v.climate = rec;
  v.climateSeries.push({ t, temperature: rec.temperature, humidity: rec.humidity });
  v.climateSeries.sort((a, b) => a.t - b.t);
  v.lastSeen = Math.max(v.lastSeen || 0, t);
  if (v.marker && v.marker.isPopupOpen()) v.marker.setPopupContent(popupContent(v));
  if (state.selected === v.id) renderDetails();
}

function onPicture(rec) {
  const v = state.vehicles.get(rec.vehicle);
  if (!v) return;
  v.picture = rec;
  v.pictures.push(rec);
  addThumb(v, rec);
  if (state.selected === v.id) renderDetails();
}

// A handover: a marker, and the segments after it take the new technology's colour.
function onHandover(rec) {
  const v = state.vehicles.get(rec.vehicle);
  if (!v) return;
  addHandovers(v, [rec]);
  const t = Date.parse(rec.time);
  if (!v.handover || Date.parse(v.handover.time) <= t) v.handover = rec;
  v.lastSeen = Math.max(v.lastSeen || 0, t);
  updateRange(t, t);
  drawTrack(v);
  if (state.selected === v.id) renderDetails();
}

function connectLive() {
  const es = new EventSource('/api/v1/live');
  es.onopen = () => setStatus('Live: ' + state.vehicles.size + ' vehicles');
  es.onerror = () => setStatus('Live feed interrupted; reconnecting…');
  for (const [name, fn] of [['fix', onFix], ['climate', onClimate], ['picture', onPicture], ['handover', onHandover]]) {
    es.addEventListener(name, (e) => {
      try { fn(JSON.parse(e.data)); } catch (err) { setStatus('Bad live event: ' + err.message); }
    });
  }
  setInterval(renderList, 10000);
}

// One refresh of the vehicle list at a time; a failed one is forgotten (the next call tries again),
// so a refused fetch never leaves the list stuck until the page is reloaded.
let refreshing = null;
function refreshVehicles() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const list = await getJSON('/api/v1/vehicles');
    if (!Array.isArray(list)) throw new Error('/api/v1/vehicles answered no list');
    const added = [];
    for (const info of list) {
      if (info && typeof info.id === 'string' && !state.vehicles.has(info.id)) {
        const v = makeVehicle(info, state.vehicles.size);
        state.vehicles.set(info.id, v);
        added.push(v);
      }
    }
    renderList();
    await Promise.all(added.map((v) => Promise.all([loadTrack(v), loadPictures(v), loadHandovers(v)])));
    return added;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// After a failed load, try again with a growing pause (2 s, 4 s, … up to 60 s).
let retryDelay = 2000, retryTimer = null;
function scheduleRefresh(then) {
  if (retryTimer) return;
  retryTimer = setTimeout(async () => {
    retryTimer = null;
    try {
      await refreshVehicles();
      retryDelay = 2000;
      if (then) await then();
    } catch (e) {
      setStatus('Could not load vehicles (' + e.message + '); retrying in ' + Math.round(retryDelay / 1000) + ' s');
      retryDelay = Math.min(60000, retryDelay * 2);
      scheduleRefresh(then);
    }
  }, retryDelay);
}

function setupSlider() {
  const slider = $('slider');
  slider.addEventListener('input', () => {
    const { min, max } = state.range;
    if (min == null) return;
    const f = Number(slider.value) / 1000;
    state.replayTime = f >= 1 ? null : min + f * (max - min);
    $('slider-time').textContent = state.replayTime == null ? 'live' : fmtTime(state.replayTime);
    for (const v of state.vehicles.values()) {
      drawTrack(v);
      if (state.replayTime == null && v.fix) ensureMarker(v, v.fix.lat, v.fix.lon);
    }
    renderDetails();
  });
  $('live-button').addEventListener('click', () => {
    slider.value = '1000';
    slider.dispatchEvent(new Event('input'));
  });
}

async function main() {
  let config = { tileURL: '', attribution: '' };
  try { config = await getJSON('/api/v1/config'); } catch (e) { /* offline defaults */ }
  state.liveVideo = config.liveVideo || {};
  // maxZoom: without a tile layer Leaflet has none, and fitting a single point would zoom to infinity.
  state.map = L.map('map', { zoomControl: true, preferCanvas: true, worldCopyJump: true, maxZoom: 19 }).setView([46.5, 2.5], 6);
  // Technology segments and handover markers are few: drawn as SVG, each an element with its classes.
  state.svg = L.svg({ padding: 0.5 });
  addLegend();
  if (config.tileURL) {
    const tiles = L.tileLayer(config.tileURL, { maxZoom: 19, attribution: config.attribution });
    tiles.on('tileerror', () => $('map').classList.add('no-tiles'));
    tiles.addTo(state.map);
  } else {
    $('map').classList.add('no-tiles');
  }
  setupSlider();
  $('follow').addEventListener('change', (e) => { state.follow = e.target.checked; });
  $('close-details').addEventListener('click', () => { state.selected = null; renderDetails(); renderList(); });
  connectLive();
  const firstView = async () => {
    const bounds = L.latLngBounds([]);
    for (const v of state.vehicles.values()) {
      if (v.lats.length) bounds.extend(v.line.getBounds());
      else if (v.marker) bounds.extend(v.marker.getLatLng());
    }
    if (bounds.isValid()) {
      state.map.fitBounds(bounds, { padding: [20, 20], animate: false, maxZoom: 16 });
      await reloadCoarseTracks();
    }
    setStatus(state.vehicles.size ? 'Live: ' + state.vehicles.size + ' vehicles' : 'No vehicles yet');
    document.body.dataset.ready = 'true';
  };
  try {
    await refreshVehicles();
    await firstView();
  } catch (e) {
    setStatus('Could not load vehicles (' + e.message + '); retrying in ' + Math.round(retryDelay / 1000) + ' s');
    scheduleRefresh(firstView);
  }
  state.map.on('zoomend', () => { reloadCoarseTracks().catch(() => {}); });
}

// Tracks are fetched simplified to about half a pixel; zooming in far enough fetches them finer.
function reloadCoarseTracks() {
  const wanted = Math.max(0.5, metresPerPixel(state.map.getZoom(), state.map.getCenter().lat) / 2);
  const stale = Array.from(state.vehicles.values()).filter((v) => v.tolerance != null && wanted < v.tolerance / 2);
  return Promise.all(stale.map(loadTrack));
}

// Exposed for debugging and for the browser tests.
window.nautilus = state;
main();
