// impasto's web page: upload a photo, pick a style image or a trained model, watch the job, see and
// download the result, open its report; recent jobs are remembered in this browser only.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { mode: 'image', files: { content: null, style: null }, limits: {}, defaults: {}, pollTimer: null, current: null };
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

function setFile(kind, file) {
  if (!file) return;
  if (!file.type.startsWith('image/') && file.type !== '') { showError(`${file.name} is not an image`); return; }
  state.files[kind] = file;
  const preview = $(`${kind}-preview`);
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  showError('');
}

function setupDrop(kind) {
  const zone = $(`${kind}-drop`);
  const input = $(`${kind}-file`);
  input.addEventListener('change', () => setFile(kind, input.files[0]));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    setFile(kind, e.dataTransfer.files[0]);
  });
}

function setMode(mode) {
  state.mode = mode;
  $('tab-image').setAttribute('aria-selected', String(mode === 'image'));
  $('tab-model').setAttribute('aria-selected', String(mode === 'model'));
  $('panel-image').hidden = mode !== 'image';
  $('panel-model').hidden = mode !== 'model';
  document.querySelectorAll('.for-image').forEach((el) => { el.hidden = mode !== 'image'; });
  document.querySelectorAll('.for-model').forEach((el) => { el.hidden = mode !== 'model'; });
  if (mode === 'image' && $('image-size').value === '0') $('image-size').value = '384';
}

function multiplier(id) { return Math.pow(10, Number($(id).value)); }

function setupControls() {
  const show = (id, text) => { $(`${id}-out`).textContent = text; };
  $('strength').addEventListener('input', () => show('strength', Number($('strength').value).toFixed(2)));
  for (const id of ['style-weight', 'content-weight'])
    $(id).addEventListener('input', () => show(id, `×${multiplier(id).toPrecision(2).replace(/\.0+$/, '')}`));
  $('tab-image').addEventListener('click', () => setMode('image'));
  $('tab-model').addEventListener('click', () => setMode('model'));
}

async function loadCatalog() {
  try {
    const catalog = await (await api('/v1/models')).json();
    state.limits = catalog.limits || {};
    const gatys = (catalog.methods || []).find((m) => m.name === 'gatys');
    state.defaults = (gatys && gatys.defaults) || {};
    const select = $('model');
    select.replaceChildren();
    for (const m of catalog.models) {
      const option = document.createElement('option');
      option.value = m.name;
      option.textContent = `${m.name} (${m.kind === 'transformer_net' ? 'fast neural style' : 'CycleGAN'})`;
      select.append(option);
    }
    $('model-note').textContent = catalog.models.length ? '' : 'This server offers no trained models; use a style image.';
    $('tab-model').disabled = catalog.models.length === 0;
    if (state.limits.max_iterations) $('iterations').max = state.limits.max_iterations;
    for (const option of $('image-size').options)
      if (Number(option.value) > (state.limits.max_side || Infinity)) option.disabled = true;
    if (state.limits.ttl_s) $('ttl').textContent = formatSeconds(state.limits.ttl_s);
    $('key-box').hidden = !$('api-key').value;
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

function jobForm() {
  const form = new FormData();
  if (!state.files.content) throw new Error('Choose a photo first.');
  form.append('content', state.files.content, state.files.content.name || 'content');
  const size = $('image-size').value;
  form.append('preserve_colors', $('preserve-colors').value);
  if (state.mode === 'model') {
    if (!$('model').value) throw new Error('Choose a model.');
    form.append('model', $('model').value);
    form.append('strength', $('strength').value);
    form.append('image_size', size);
  } else {
    if (!state.files.style) throw new Error('Choose a style image (a painting).');
    form.append('style', state.files.style, state.files.style.name || 'style');
    form.append('image_size', size);
    form.append('iterations', $('iterations').value);
    if (state.defaults.style_weight != null) form.append('style_weight', String(state.defaults.style_weight * multiplier('style-weight')));
    if (state.defaults.content_weight != null) form.append('content_weight', String(state.defaults.content_weight * multiplier('content-weight')));
  }
  return form;
}

async function submit(event) {
  event.preventDefault();
  showError('');
  let form;
  try { form = jobForm(); } catch (e) { showError(e.message); return; }
  $('submit').disabled = true;
  try {
    const job = await (await api('/v1/jobs', { method: 'POST', body: form })).json();
    remember(job.id);
    state.current = { id: job.id, input: URL.createObjectURL(state.files.content) };
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
    return `Running ${p.stage}: step ${p.step} of ${p.total}${eta}`;
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
  $('result-input').src = input;
  $('result-image').src = job.result_url;
  $('download').href = job.result_url;
  $('download').setAttribute('download', `impasto-${job.id.slice(0, 8)}.${job.format === 'jpeg' ? 'jpg' : job.format}`);
  $('report').href = job.report_url;
  const s = job.summary || {};
  $('result-info').textContent = s.width ? `${s.width}×${s.height}, ${formatSeconds(s.seconds)}` : '';
  $('result-box').hidden = false;
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
    const img = document.createElement('img');
    img.src = job.state === 'succeeded' ? job.result_url : job.content_url;
    img.alt = job.state;
    img.addEventListener('click', () => {
      if (job.state === 'succeeded') showResult(job);
      else watch(job.id);
    });
    const caption = document.createElement('div');
    caption.textContent = `${job.model || 'style image'} · ${job.state}`;
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
  setMode('image');
  $('job-form').addEventListener('submit', submit);
  loadCatalog();
  renderGallery();
});
