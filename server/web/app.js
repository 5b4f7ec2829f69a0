// impasto's web page: upload a photo, pick a style image (or one of the built-in public-domain
// paintings, or pictures a GAN of the server paints, shown before they are used) or a trained model, watch the job, see and download the result, open its report; recent
// jobs are remembered in this browser only. The methods and their controls come from GET /v1/models:
// each method's option schema says which options the page shows and how (select, range, number, or a
// scale over powers of ten of the method's default). A result of a one-pass method is re-rendered on
// the synchronous path (POST /v1/stylize) when a control or the style changes.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  mode: 'image', files: { content: null, style: null }, limits: {}, methods: [], models: [], method: null, pollTimer: null, current: null,
  live: false, renderSeq: 0, liveUrl: null,  // live: the shown result may be re-rendered synchronously
  ganStyle: null,  // { gan, seed, count, category? }: the style is what this GAN paints for this seed (instead of state.files.style)
};
const GALLERY_KEY = 'impasto.jobs';

function authHeaders() {
  const key = $('api-key').value.trim();
  if (key) localStorage.setItem('impasto.key', key);
  return key ? { 'X-API-Key': key } : {};
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).error.message; } catch (_) { /* not JSON */ }
    const error = new Error(message);
    error.status = res.status;
    error.retryAfter = res.headers.get('Retry-After');
    throw error;
  }
  return res;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function formatSeconds(s) {
  if (s == null || !isFinite(s)) return '';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 172800) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 86400)} days`;
}

// ---- inputs -------------------------------------------------------------------------------------

// A video as content is a job over its frames: previewed as a video, no region, no live re-render.
const isVideo = (file) => Boolean(file && file.type.startsWith('video/'));

function setFile(kind, file) {
  if (!file) return;
  const video = kind === 'content' && isVideo(file);
  if (!file.type.startsWith('image/') && !video && file.type !== '') {
    showError(`${file.name} is not ${kind === 'content' ? 'an image or a video' : 'an image'}`);
    return;
  }
  state.files[kind] = file;
  const preview = $(`${kind}-preview`);
  if (preview.src) URL.revokeObjectURL(preview.src);
  if (kind === 'content') {
    const player = $('content-video');
    if (player.src) URL.revokeObjectURL(player.src);
    player.hidden = !video;
    player.src = video ? URL.createObjectURL(file) : '';
    preview.hidden = video;
    if (!video) preview.src = URL.createObjectURL(file);
  } else {
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    clearGanStyle();
  }
  showError('');
  if (kind === 'content') {
    state.live = false;  // a new photo is a new job
    if (video) { mask.photo = null; showMaskBox(); } else loadMaskPhoto(file);
  } else {
    rerender();
  }
}

// ---- the style's region: painted over the photo or uploaded (methods that take masks) -----------
// The region is a canvas at the photo's size, white (opaque) where the style goes; it is sent as
// mask_1, white on black.
const mask = { photo: null, region: null, painted: false, drawing: false };

const maskUsable = () => Boolean(state.mode === 'image' && state.method && state.method.capabilities.masks && mask.photo);
const maskActive = () => maskUsable() && $('mask-on').checked && mask.painted;

function showMaskBox() {
  $('mask-box').hidden = !maskUsable();
  $('mask-tools').hidden = !$('mask-on').checked;
}

function loadMaskPhoto(file) {
  const img = new Image();
  img.onload = () => {
    mask.photo = img;
    mask.region = document.createElement('canvas');
    mask.region.width = img.naturalWidth;
    mask.region.height = img.naturalHeight;
    mask.painted = false;
    const view = $('mask-canvas');
    const scale = Math.min(480 / img.naturalWidth, 320 / img.naturalHeight);  // shown at most 480x320, small photos enlarged
    view.width = Math.max(1, Math.round(img.naturalWidth * scale));
    view.height = Math.max(1, Math.round(img.naturalHeight * scale));
    drawMask();
    showMaskBox();
  };
  img.src = URL.createObjectURL(file);
}

// The photo with the region over it, lightened.
function drawMask() {
  if (!mask.photo) return;
  const view = $('mask-canvas');
  const context = view.getContext('2d');
  context.globalAlpha = 1;
  context.drawImage(mask.photo, 0, 0, view.width, view.height);
  context.globalAlpha = 0.55;
  context.drawImage(mask.region, 0, 0, view.width, view.height);
  context.globalAlpha = 1;
}

function paintAt(event) {
  const rect = $('mask-canvas').getBoundingClientRect();
  const sx = mask.region.width / rect.width, sy = mask.region.height / rect.height;
  const context = mask.region.getContext('2d');
  context.fillStyle = '#fff';
  context.beginPath();
  context.ellipse((event.clientX - rect.left) * sx, (event.clientY - rect.top) * sy, Number($('mask-brush').value) * sx / 2,
    Number($('mask-brush').value) * sy / 2, 0, 0, 2 * Math.PI);
  context.fill();
  mask.painted = true;
  drawMask();
}

// An uploaded mask becomes the region: its brightness is the region's opacity.
function useMaskFile(file) {
  if (!file || !mask.region) return;
  const img = new Image();
  img.onload = () => {
    const { width, height } = mask.region;
    const context = mask.region.getContext('2d');
    context.clearRect(0, 0, width, height);
    context.drawImage(img, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height);
    const d = pixels.data;
    for (let i = 0; i < d.length; i += 4) {
      d[i + 3] = Math.round((d[i] + d[i + 1] + d[i + 2]) / 3);
      d[i] = d[i + 1] = d[i + 2] = 255;
    }
    context.putImageData(pixels, 0, 0);
    mask.painted = true;
    drawMask();
    rerender();
  };
  img.src = URL.createObjectURL(file);
}

// The region as a PNG, white on black, at the photo's size.
function maskBlob() {
  return new Promise((resolve) => {
    const out = document.createElement('canvas');
    out.width = mask.region.width;
    out.height = mask.region.height;
    const context = out.getContext('2d');
    context.fillStyle = '#000';
    context.fillRect(0, 0, out.width, out.height);
    context.drawImage(mask.region, 0, 0);
    out.toBlob(resolve, 'image/png');
  });
}

function setupMask() {
  const view = $('mask-canvas');
  view.addEventListener('pointerdown', (e) => {
    if (!mask.region) return;
    mask.drawing = true;
    view.setPointerCapture(e.pointerId);
    paintAt(e);
  });
  view.addEventListener('pointermove', (e) => { if (mask.drawing) paintAt(e); });
  const end = () => {
    if (!mask.drawing) return;
    mask.drawing = false;
    rerender();
  };
  view.addEventListener('pointerup', end);
  view.addEventListener('pointercancel', end);
  $('mask-on').addEventListener('change', () => { showMaskBox(); rerender(); });
  $('mask-clear').addEventListener('click', () => {
    if (!mask.region) return;
    mask.region.getContext('2d').clearRect(0, 0, mask.region.width, mask.region.height);
    mask.painted = false;
    drawMask();
    rerender();
  });
  $('mask-file').addEventListener('change', () => useMaskFile($('mask-file').files[0]));
}

// The public-domain paintings the server carries (/styles/styles.json): one click makes one the style.
async function loadStyleGallery() {
  let list;
  try { list = (await (await api('/styles/styles.json')).json()).styles || []; } catch (_) { return; }
  const buttons = list.map((s) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-pressed', 'false');
    button.dataset.file = s.file;
    button.title = `${s.title}, ${s.painter} (${s.year})`;
    const img = document.createElement('img');
    img.src = `/styles/${s.file}`;
    img.alt = s.title;
    button.append(img);
    button.addEventListener('click', async () => {
      try {
        const blob = await (await api(`/styles/${s.file}`)).blob();
        for (const b of $('style-gallery').children) b.setAttribute('aria-pressed', String(b === button));
        setFile('style', new File([blob], s.file, { type: blob.type || 'image/jpeg' }));
      } catch (e) { showError(`Cannot load ${s.title}: ${e.message}`); }
    });
    return button;
  });
  $('style-gallery').replaceChildren(...buttons);
  $('style-gallery-note').hidden = buttons.length === 0;
}

// ---- styles painted by a GAN of the server (GET /v1/gans/{name}/styles) ---------------------------
// The pictures are shown first; the job then sends the GAN's name, the seed and the count, and the
// server paints the same pictures again (it records them with the job).

function clearGanStyle() {
  state.ganStyle = null;
  $('gan-preview').replaceChildren();
}

async function paintGanStyle(newSeed) {
  const gan = $('gan').value;
  if (!gan) return;
  if (newSeed || $('gan-seed').value === '') $('gan-seed').value = String(Math.floor(Math.random() * 2 ** 31));
  const seed = $('gan-seed').value, count = $('gan-count').value, category = $('gan-category').value;
  $('gan-paint').disabled = $('gan-another').disabled = true;
  try {
    const query = new URLSearchParams({ seed, count });
    if (category !== '') query.set('category', category);
    const painted = await (await api(`/v1/gans/${encodeURIComponent(gan)}/styles?${query}`)).json();
    const images = painted.images.map((src, i) => {
      const img = document.createElement('img');
      img.src = src;
      img.alt = `picture ${i + 1} painted by ${gan}`;
      return img;
    });
    const preview = $('style-preview');
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = painted.images[0];
    preview.hidden = false;
    for (const b of $('style-gallery').children) b.setAttribute('aria-pressed', 'false');
    state.files.style = null;
    state.ganStyle = { gan, seed: String(painted.seed), count: String(painted.count) };
    if (painted.category !== undefined) state.ganStyle.category = String(painted.category);
    $('gan-preview').replaceChildren(...images);
    showError('');
    rerender();
  } catch (e) {
    showError(`${gan} cannot paint: ${e.message}`);
  } finally {
    $('gan-paint').disabled = $('gan-another').disabled = false;
  }
}

// A GAN trained with latent categories (the catalogue's `categories`) paints K kinds of picture: offer
// them ('any' = drawn with the seed).
function showGanCategories() {
  const m = state.models.find((g) => g.name === $('gan').value);
  const kinds = (m && m.categories) || 0;
  const options = [{ value: '', text: 'any' }];
  for (let k = 0; k < kinds; ++k) options.push({ value: String(k), text: String(k) });
  $('gan-category').replaceChildren(...options.map((o) => {
    const option = document.createElement('option');
    option.value = o.value;
    option.textContent = o.text;
    return option;
  }));
  $('gan-category-box').hidden = kinds === 0;
}

function setupGan() {
  $('gan').addEventListener('change', showGanCategories);
  $('gan-paint').addEventListener('click', () => paintGanStyle(false));
  $('gan-another').addEventListener('click', () => paintGanStyle(true));
}

function setupDrop(kind) {
  const zone = $(`${kind}-drop`);
  const input = $(`${kind}-file`);
  const unpress = () => { if (kind === 'style') for (const b of $('style-gallery').children) b.setAttribute('aria-pressed', 'false'); };
  input.addEventListener('change', () => { unpress(); setFile(kind, input.files[0]); });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    unpress();
    setFile(kind, e.dataTransfer.files[0]);
  });
}

// 'image': methods that take style images (some also run a model: adain's decoder); 'model': methods
// whose style is in a trained model.
function methodsFor(mode) {
  return state.methods.filter((m) => (mode === 'model') === !(m.capabilities && m.capabilities.max_styles > 0));
}

const modelsOf = (method) => state.models.filter((m) => m.method === method.name);

// Whether a method can run here: it needs no model, or has a built-in one, or the server offers one.
const runnable = (m) => !(m.capabilities && m.capabilities.model) || m.default_model || modelsOf(m).length > 0;

// The method the page starts with: a one-pass method that can run (about a second per picture),
// else the first.
function preferredMethod(methods) {
  const fast = methods.find((m) => m.synchronous && runnable(m));
  return (fast || methods[0] || {}).name || null;
}

function setMode(mode) {
  state.mode = mode;
  $('tab-image').setAttribute('aria-selected', String(mode === 'image'));
  $('tab-model').setAttribute('aria-selected', String(mode === 'model'));
  $('panel-image').hidden = mode !== 'image';
  $('panel-model').hidden = mode !== 'model';
  const methods = methodsFor(mode);
  const select = $('method');
  select.replaceChildren(...methods.map((m) => {
    const option = document.createElement('option');
    option.value = m.name;
    option.textContent = `${m.name}: ${m.description}`;
    return option;
  }));
  $('method-box').hidden = methods.length < 2;
  const models = methods.flatMap(modelsOf);
  $('model').replaceChildren(...models.map((m) => {
    const option = document.createElement('option');
    option.value = m.name;
    option.textContent = `${m.name} (${m.kind === 'transformer_net' ? 'fast neural style' : m.kind === 'cyclegan_generator' ? 'CycleGAN' : m.kind})`;
    return option;
  }));
  selectMethod(preferredMethod(methods));
}

function selectMethod(name) {
  state.method = state.methods.find((m) => m.name === name) || null;
  state.live = false;
  if (state.method) $('method').value = state.method.name;
  renderControls();
  showMaskBox();
}

const controlId = (name) => name.replace(/_/g, '-');
const scaleText = (exponent) => `×${Math.pow(10, exponent).toPrecision(2).replace(/\.0+$/, '')}`;

// One control per option the method shows on the page.
function renderControls() {
  const box = $('method-controls');
  box.replaceChildren();
  if (!state.method) return;
  if (state.mode === 'image' && state.method.capabilities.model) {
    // A method that takes style images and runs a model (adain's decoder): the server's built-in
    // one unless another is chosen.
    const label = document.createElement('label');
    label.append('Model ');
    const select = document.createElement('select');
    select.id = 'method-model';
    for (const m of modelsOf(state.method)) {
      const o = document.createElement('option');
      o.value = m.builtin ? '' : m.name;
      o.textContent = m.builtin ? `${m.name} (built in)` : m.name;
      select.append(o);
    }
    if (!select.options.length) {
      const o = document.createElement('option');
      o.value = '';
      o.textContent = 'none on this server';
      select.append(o);
    }
    label.append(select);
    box.append(label);
  }
  for (const option of state.method.options) {
    const web = option.web;
    if (!web) continue;
    const id = controlId(option.name);
    const label = document.createElement('label');
    label.append(`${web.label} `);
    const limit = option.max_here != null ? option.max_here : option.max;
    let input;
    if (web.kind === 'select') {
      input = document.createElement('select');
      for (const choice of web.choices || (option.choices || []).map((c) => ({ value: c, label: c }))) {
        const o = document.createElement('option');
        o.value = String(choice.value);
        o.textContent = choice.label;
        if (typeof choice.value === 'number' && limit != null && choice.value > limit) o.disabled = true;
        input.append(o);
      }
    } else {
      input = document.createElement('input');
      input.type = web.kind === 'number' ? 'number' : 'range';
      if (web.kind === 'scale') {
        input.min = '-2';
        input.max = '2';
      } else {
        if (option.min != null) input.min = String(option.min);
        if (limit != null) input.max = String(limit);
      }
      if (web.step) input.step = String(web.step);
    }
    input.id = id;
    input.dataset.option = option.name;
    input.dataset.kind = web.kind;
    if (web.value != null) input.value = String(web.value);
    if (web.kind === 'range' || web.kind === 'scale') {
      const out = document.createElement('output');
      out.id = `${id}-out`;
      const show = () => { out.textContent = web.kind === 'scale' ? scaleText(Number(input.value)) : Number(input.value).toFixed(2); };
      input.addEventListener('input', show);
      show();
      label.append(out);
    }
    label.append(input);
    box.append(label);
  }
}

function setupControls() {
  $('tab-image').addEventListener('click', () => setMode('image'));
  $('tab-model').addEventListener('click', () => setMode('model'));
  $('method').addEventListener('change', () => selectMethod($('method').value));
  // A one-pass result follows its controls: a slider let go, a choice made.
  $('method-controls').addEventListener('change', () => rerender());
}

async function loadCatalog() {
  try {
    const catalog = await (await api('/v1/models')).json();
    state.limits = catalog.limits || {};
    state.methods = catalog.methods || [];
    state.models = catalog.models || [];
    const modelMethods = methodsFor('model');
    const offered = modelMethods.flatMap(modelsOf).length > 0;
    $('model-note').textContent = offered ? '' : 'This server offers no trained models; use a style image.';
    $('tab-model').disabled = !offered;
    const gans = state.models.filter((m) => m.paints_styles);
    $('gan').replaceChildren(...gans.map((m) => {
      const option = document.createElement('option');
      option.value = m.name;
      option.textContent = `${m.name} (${m.image_size} px, step ${m.step})`;
      return option;
    }));
    $('gan-box').hidden = gans.length === 0;
    showGanCategories();
    if (state.limits.ttl_s) $('ttl').textContent = formatSeconds(state.limits.ttl_s);
    $('key-box').hidden = !$('api-key').value;
    setMode(state.mode);
  } catch (e) {
    if (e.status === 401) {
      $('key-box').hidden = false;
      showError('This service needs an API key: enter it above, then try again.');
    } else {
      showError(`Cannot reach the service: ${e.message}`);
    }
  }
}

// ---- jobs ---------------------------------------------------------------------------------------

async function jobForm() {
  const form = new FormData();
  if (!state.files.content) throw new Error('Choose a photo first.');
  if (!state.method) throw new Error('This server offers no method for this.');
  const caps = state.method.capabilities || {};
  form.append('content', state.files.content, state.files.content.name || 'content');
  form.append('method', state.method.name);
  if (caps.model) {
    if (state.mode === 'model') {
      if (!$('model').value) throw new Error('Choose a model.');
      form.append('model', $('model').value);
    } else if ($('method-model').value) {
      form.append('model', $('method-model').value);
    } else if (!state.method.default_model) {
      throw new Error(`This server has no model for ${state.method.name}.`);
    }  // else the server's built-in model
  }
  if (caps.max_styles > 0) {
    if (state.ganStyle) {
      form.append('style_gan', state.ganStyle.gan);
      form.append('style_seed', state.ganStyle.seed);
      form.append('style_count', state.ganStyle.count);
      if (state.ganStyle.category !== undefined) form.append('style_category', state.ganStyle.category);
    } else if (state.files.style) {
      form.append('style', state.files.style, state.files.style.name || 'style');
    } else {
      throw new Error('Choose a style image (a painting), or let a GAN paint one.');
    }
  }
  if (maskActive()) form.append('mask_1', await maskBlob(), 'mask.png');
  if (isVideo(state.files.content)) form.append('format', 'webm');  // VP9: every browser plays it
  const defaults = state.method.defaults || {};
  for (const input of $('method-controls').querySelectorAll('[data-option]')) {
    const name = input.dataset.option;
    if (input.dataset.kind === 'scale') {
      // A factor on the method's default (e.g. the style weight of the backbone's recipe).
      if (defaults[name] != null) form.append(name, String(defaults[name] * Math.pow(10, Number(input.value))));
    } else {
      form.append(name, input.value);
    }
  }
  return form;
}

async function submit(event) {
  event.preventDefault();
  showError('');
  let form;
  try { form = await jobForm(); } catch (e) { showError(e.message); return; }
  $('submit').disabled = true;
  try {
    const job = await (await api('/v1/jobs', { method: 'POST', body: form })).json();
    remember(job.id);
    state.current = { id: job.id, input: URL.createObjectURL(state.files.content), video: isVideo(state.files.content) };
    $('result-box').hidden = true;
    watch(job.id);
  } catch (e) {
    const wait = e.retryAfter ? ` Try again in ${formatSeconds(Number(e.retryAfter))}.` : '';
    showError(e.message + wait);
    $('submit').disabled = false;
  }
}

function describe(job) {
  if (job.state === 'queued') return job.queue_position ? `Queued: ${job.queue_position} in line` : 'Queued';
  if (job.state === 'running') {
    const p = job.progress;
    if (!p) return 'Starting…';
    const eta = p.eta_s != null ? `, about ${formatSeconds(p.eta_s)} left` : '';
    const unit = job.video ? 'frame' : 'step';
    return `Running ${p.stage}: ${unit} ${p.step} of ${p.total}${eta}`;
  }
  if (job.state === 'succeeded') return `Done in ${formatSeconds(job.summary && job.summary.seconds)}`;
  return `Failed: ${job.error}`;
}

function watch(id) {
  clearTimeout(state.pollTimer);
  $('status').hidden = false;
  const poll = async () => {
    let job;
    try {
      job = await (await api(`/v1/jobs/${id}`)).json();
    } catch (e) {
      $('status-text').textContent = e.status === 404 ? 'This job no longer exists (deleted or expired).' : `Lost contact: ${e.message}`;
      $('submit').disabled = false;
      if (e.status !== 404) state.pollTimer = setTimeout(poll, 2000);
      return;
    }
    $('status-text').textContent = describe(job);
    const p = job.progress;
    $('progress').value = job.state === 'succeeded' ? 1 : (p ? p.fraction : 0);
    $('losses').textContent = p && p.metrics ? Object.entries(p.metrics).map(([k, v]) => `${k} ${Number(v).toPrecision(3)}`).join(' · ') : '';
    if (job.state === 'succeeded') {
      showResult(job);
      $('submit').disabled = false;
      renderGallery();
    } else if (job.state === 'failed') {
      showError(job.error);
      $('submit').disabled = false;
      renderGallery();
    } else {
      state.pollTimer = setTimeout(poll, 500);
    }
  };
  poll();
}

function showResult(job) {
  const input = state.current && state.current.id === job.id ? state.current.input : job.content_url;
  const video = Boolean(job.video);
  for (const [image, player] of [['result-input', 'result-input-video'], ['result-image', 'result-video']]) {
    $(image).hidden = video;
    $(player).hidden = !video;
  }
  if (video) {
    $('result-input-video').src = input;
    $('result-video').src = job.result_url;
  } else {
    $('result-input').src = input;
    $('result-image').src = job.result_url;
  }
  $('download').href = job.result_url;
  $('download').setAttribute('download', `impasto-${job.id.slice(0, 8)}.${job.format === 'jpeg' ? 'jpg' : job.format}`);
  $('report').hidden = !job.report_url;
  if (job.report_url) $('report').href = job.report_url;
  const s = job.summary || {};
  $('result-info').textContent = !s.width ? '' : video
    ? `${s.frames} frames of ${s.width}×${s.height} in ${formatSeconds(s.seconds)}; flicker (warping error) ${Number(s.warping_error).toPrecision(3)}`
    : `${s.width}×${s.height}, ${formatSeconds(s.seconds)}`;
  $('result-box').hidden = false;
  // The job just made from this page's inputs, by a one-pass method: its controls re-render it.
  state.live = Boolean(!video && state.current && state.current.id === job.id && state.method && state.method.synchronous &&
                       state.method.name === job.method);
}

// The shown result again with the page's current controls and style, on the synchronous path (about
// a second for a one-pass method). Only the newest of overlapping renders is shown.
async function rerender() {
  if (!state.live || !state.method || !state.method.synchronous) return;
  const seq = ++state.renderSeq;
  let form;
  try { form = await jobForm(); } catch (_) { return; }
  if (seq !== state.renderSeq) return;
  const started = performance.now();
  $('status').hidden = false;
  $('status-text').textContent = 'Re-rendering…';
  try {
    const blob = await (await api('/v1/stylize', { method: 'POST', body: form })).blob();
    if (seq !== state.renderSeq) return;
    if (state.liveUrl) URL.revokeObjectURL(state.liveUrl);
    state.liveUrl = URL.createObjectURL(blob);
    $('result-image').src = state.liveUrl;
    $('download').href = state.liveUrl;
    $('status-text').textContent = `Re-rendered in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    showError('');
  } catch (e) {
    if (seq !== state.renderSeq) return;
    const wait = e.retryAfter ? ` Try again in ${formatSeconds(Number(e.retryAfter))}.` : '';
    showError(e.message + wait);
  }
}

// ---- gallery (job ids in localStorage: the server lists no one's jobs to anyone else) ------------

function remembered() {
  try { return JSON.parse(localStorage.getItem(GALLERY_KEY)) || []; } catch (_) { return []; }
}

function remember(id) {
  const ids = [id, ...remembered().filter((x) => x !== id)].slice(0, 24);
  localStorage.setItem(GALLERY_KEY, JSON.stringify(ids));
  renderGallery();
}

function forget(id) {
  localStorage.setItem(GALLERY_KEY, JSON.stringify(remembered().filter((x) => x !== id)));
}

async function renderGallery() {
  const list = $('gallery');
  const items = [];
  for (const id of remembered()) {
    let job;
    try {
      job = await (await api(`/v1/jobs/${id}`)).json();
    } catch (e) {
      if (e.status === 404) forget(id);
      continue;
    }
    const li = document.createElement('li');
    const img = document.createElement(job.video ? 'video' : 'img');
    if (job.video) { img.muted = true; img.preload = 'metadata'; }
    img.src = job.state === 'succeeded' ? job.result_url : job.content_url;
    if (!job.video) img.alt = job.state;
    img.addEventListener('click', () => {
      if (job.state === 'succeeded') showResult(job);
      else watch(job.id);
    });
    const caption = document.createElement('div');
    const style = job.style_gan ? `style painted by ${job.style_gan.gan}` : job.model && !job.style_urls.length ? '' : 'style image';
    caption.textContent = [job.model, style, job.state].filter(Boolean).join(' · ');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Delete';
    remove.addEventListener('click', async () => {
      try { await api(`/v1/jobs/${id}`, { method: 'DELETE' }); } catch (_) { /* gone already */ }
      forget(id);
      renderGallery();
    });
    li.append(img, caption, remove);
    items.push(li);
  }
  list.replaceChildren(...items);
}

// ---- start --------------------------------------------------------------------------------------

window.addEventListener('DOMContentLoaded', () => {
  $('api-key').value = localStorage.getItem('impasto.key') || '';
  $('api-key').addEventListener('change', () => { loadCatalog(); renderGallery(); });
  setupDrop('content');
  setupDrop('style');
  setupControls();
  setupMask();
  setupGan();
  setMode('image');
  $('job-form').addEventListener('submit', submit);
  loadCatalog();
  loadStyleGallery();
  renderGallery();
});
