// The web page in a real browser: Debian's Chromium, driven by playwright-core, against the real
// `impasto serve` on a random loopback port. A user uploads a photo and a painting, waits, and sees
// the result beside the photo; picks one of the built-in paintings for the one-pass method (adain,
// its built-in model: here the random-weight fixtures of the published layout), gets a result and moves the alpha slider
// for a new one, then paints the region the style may cover; lets a GAN of the models folder paint the
// style (shown before the job, then used by it); then does the same with a trained model, and with a
// short video (played back as a video); the gallery lists the five jobs.
//
//   node tests/browser/web_page.test.mjs --cli build/impasto --model tests/fixtures/style_nets/transformer_w4.pth \
//        --adain-decoder tests/fixtures/adain/decoder_w8.pth --adain-encoder tests/fixtures/weights/vgg19_normalised_w8.pth [--out DIR]
//
// Exit code 0 when every check passes; otherwise the first failure and 1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const CHROMIUM = process.env.IMPASTO_CHROMIUM || '/usr/bin/chromium';
if (!args.cli || !args.model || !args['adain-decoder'] || !args['adain-encoder'])
  throw new Error('usage: web_page.test.mjs --cli PATH --model PATH --adain-decoder PATH --adain-encoder PATH [--out DIR]');
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/install-deps.sh installs Debian's chromium`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'impasto-browser-'));
const out = args.out || work;
fs.mkdirSync(out, { recursive: true });

// ---- two small images, written as PNG with node's zlib -------------------------------------------
function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * (width * 3 + 1) + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4);
  header[8] = 8; header[9] = 2; header[10] = 0; header[11] = 0; header[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const photo = path.join(work, 'photo.png');
const painting = path.join(work, 'painting.png');
fs.writeFileSync(photo, png(96, 64, (x, y) => [y < 30 ? 120 + y * 3 : 60, y < 30 ? 170 + y : 140 - y, y < 30 ? 230 : 50 + (x % 7) * 4]));
fs.writeFileSync(painting, png(64, 64, (x, y) => {
  const swirl = Math.sin(x / 5 + Math.cos(y / 7) * 3);
  return [20 + 30 * (swirl > 0), 40 + 60 * (swirl > 0.5), 120 + 100 * Math.abs(swirl)].map(Math.round);
}));
// A short clip (six frames of a scene moving left), made with the CLI from frames written here.
const frames = path.join(work, 'frames');
fs.mkdirSync(frames);
for (let t = 0; t < 6; t++)
  fs.writeFileSync(path.join(frames, `f${t}.png`), png(96, 64, (x, y) => [(x + 3 * t) % 96 < 48 ? 200 : 40, 80 + y, ((x + 3 * t) * 5) % 256]));
const clip = path.join(work, 'clip.webm');
const made = spawnSync(args.cli, ['stylize', '-q', '--sequence', '-c', frames, '--model', args.model, '--fps', '5', '-o', clip]);
if (made.status !== 0) throw new Error(`making the test clip failed: ${made.stderr}`);
const models = path.join(work, 'models');
fs.mkdirSync(models);
fs.copyFileSync(args.model, path.join(models, 'tiny.pth'));
// A GAN run (two steps on the built-in digits: its pictures need only be its own) as a style source,
// and one with 3 latent categories (its kinds are offered).
for (const [name, extra] of [['painter', []], ['tiles', ['--arch', 'fastgan', '--categories', '3']]]) {
  const trained = spawnSync(args.cli, ['train', 'gan', '-q', '--synthetic', 'digits', '--size', '32', '--steps', '2', '--z-dim', '8',
    '--g-width', '4', '--d-width', '4', ...extra, '--threads', '1', '-o', path.join(models, name)]);
  if (trained.status !== 0) throw new Error(`training the test GAN ${name} failed: ${trained.stderr}`);
}
// The built-in adain model the server offers ($IMPASTO_MODELS_DIR/adain/): the random-weight decoder of
// the published layout, its encoder's weights the operator's, so the test does not depend on the
// model models/ ships.
const builtin = path.join(work, 'builtin');
fs.mkdirSync(path.join(builtin, 'adain'), { recursive: true });
fs.copyFileSync(args['adain-decoder'], path.join(builtin, 'adain', 'decoder.pth'));

// ---- the server ----------------------------------------------------------------------------------
function startServer() {
  return new Promise((resolve, reject) => {
    const server = spawn(args.cli, ['serve', '--port', '0', '--data-dir', path.join(work, 'data'), '--models-dir', models, '--threads', '1',
      '--backbone-weights', `vgg19-normalised=${args['adain-encoder']}`],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, IMPASTO_MODELS_DIR: builtin } });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`impasto serve did not start:\n${text}`)), 60000);
    server.stderr.on('data', (d) => {
      text += d;
      const m = text.match(/listening on (http:\/\/[0-9.]+:[0-9]+)/);
      if (m) { clearTimeout(timer); resolve({ server, url: m[1], log: () => text }); }
    });
    server.on('exit', (code) => reject(new Error(`impasto serve exited with ${code}:\n${text}`)));
  });
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

const { server, url, log } = await startServer();
let browser;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // Submits the form and waits until the job's result (a new one) is shown.
  const submitAndWait = async () => {
    const previous = await page.getAttribute('#result-image', 'src');
    await page.click('#submit');
    await page.waitForFunction((before) => {
      const img = document.getElementById('result-image');
      const src = img.getAttribute('src') || '';
      return !document.getElementById('result-box').hidden && src !== before && /^\/v1\/jobs\/[0-9a-f]+\/result$/.test(src) &&
        img.complete && img.naturalWidth > 0;
    }, previous, { timeout: 180000 });
  };

  await page.goto(url);
  check(await page.title() === 'impasto — style transfer', 'the page loads');

  // 1. A photo and a painting, by optimisation. The page starts on the one-pass method that can run.
  await page.waitForFunction(() => document.getElementById('method').options.length > 1);
  check(await page.$eval('#method', (s) => s.value) === 'adain', 'the page starts on the one-pass method with its built-in model');
  await page.selectOption('#method', 'gatys');
  await page.setInputFiles('#content-file', photo);
  await page.setInputFiles('#style-file', painting);
  check(await page.isVisible('#content-preview') && await page.isVisible('#style-preview'), 'both uploads are previewed');
  await page.selectOption('#image-size', '256');
  await page.fill('#iterations', '12');
  await submitAndWait();
  const result = await page.$eval('#result-image', (img) => ({ w: img.naturalWidth, h: img.naturalHeight, src: img.getAttribute('src') }));
  check(result.w === 256 && result.h === Math.round(256 * 64 / 96), `the result is shown at the chosen size (${result.w}x${result.h})`);
  check(await page.$eval('#result-input', (img) => img.naturalWidth) === 96, 'the photo is shown beside it');
  check(/^\/v1\/jobs\/[0-9a-f]{32}\/result$/.test(await page.getAttribute('#download', 'href')), 'the download link points at the result');
  const reportHref = await page.getAttribute('#report', 'href');
  const report = await page.request.get(url + reportHref);
  const reportText = report.ok() ? await report.text() : '';
  check(reportText.includes('inputs/result.png') && reportText.includes('id="attribution"'), 'the report opens with its attribution maps');
  check((await page.textContent('#status-text')).startsWith('Done'), 'the status says done');
  await page.screenshot({ path: path.join(out, 'web-page-optimisation.png'), fullPage: true });

  // 2. A built-in painting in one pass; the alpha slider re-renders it.
  await page.selectOption('#method', 'adain');
  check(await page.$eval('#method-model', (s) => s.options[0].textContent) === 'builtin-adain (built in)', 'adain runs the built-in model');
  const styles = await page.$$eval('#style-gallery button', (bs) => bs.map((b) => b.dataset.file));
  check(styles.length === 5 && styles.includes('starry_night.jpg'), `the gallery offers the built-in paintings (${styles.join(', ')})`);
  await page.click('#style-gallery button[data-file="starry_night.jpg"]');
  await page.waitForFunction(() => document.getElementById('style-preview').naturalWidth === 512);
  check(await page.getAttribute('#style-gallery button[data-file="starry_night.jpg"]', 'aria-pressed') === 'true', 'the picked painting is the style');
  await page.selectOption('#image-size', '256');
  await submitAndWait();
  const adainSrc = await page.getAttribute('#result-image', 'src');
  check(await page.$eval('#result-image', (img) => img.naturalWidth) === 256, 'the one-pass result is shown');
  const pixels = () => page.$eval('#result-image', (img) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
  });
  const atFullStyle = await pixels();
  await page.$eval('#alpha', (input) => {
    input.value = '0.2';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.waitForFunction((previous) => {
    const img = document.getElementById('result-image');
    return img.getAttribute('src') !== previous && img.getAttribute('src').startsWith('blob:') && img.complete && img.naturalWidth > 0;
  }, adainSrc, { timeout: 60000 });
  const status = await page.textContent('#status-text');
  check(/^Re-rendered in [0-9.]+ s$/.test(status), `moving the alpha slider re-renders the result (${status})`);
  const atLowAlpha = await pixels();
  const largest = atLowAlpha.length === atFullStyle.length ? atLowAlpha.reduce((m, v, i) => Math.max(m, Math.abs(v - atFullStyle[i])), 0) : -1;
  check(largest > 8, `the re-rendered picture is a different one at the same size (largest change ${largest} of 255)`);

  // A region painted over the photo: the style only there, the photo elsewhere.
  check(await page.isVisible('#mask-box'), 'the method offers a region for its style');
  let before = await page.getAttribute('#result-image', 'src');
  await page.check('#mask-on');
  await page.waitForFunction((previous) => document.getElementById('result-image').getAttribute('src') !== previous, before);
  before = await page.getAttribute('#result-image', 'src');
  // One stroke of the widest brush down and up the left quarter.
  await page.$eval('#mask-brush', (input) => { input.value = input.max; });
  const box = await page.$eval('#mask-canvas', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  await page.mouse.move(box.x + box.w * 0.06, box.y + 1);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.06, box.y + box.h - 1, { steps: 12 });
  await page.mouse.move(box.x + box.w * 0.19, box.y + box.h - 1, { steps: 6 });
  await page.mouse.move(box.x + box.w * 0.19, box.y + 1, { steps: 12 });
  await page.mouse.up();
  await page.waitForFunction((previous) => {
    const img = document.getElementById('result-image');
    return img.getAttribute('src') !== previous && img.complete && img.naturalWidth > 0 &&
      document.getElementById('status-text').textContent.startsWith('Re-rendered');
  }, before, { timeout: 60000 });
  // Mean difference to the photo (drawn at the result's size) in the left and right quarters.
  const quarters = await page.evaluate(() => {
    const result = document.getElementById('result-image'), photo = document.getElementById('result-input');
    const w = result.naturalWidth, h = result.naturalHeight;
    const pixels = (img) => {
      const c = document.createElement('canvas');
      c.width = w; c.height = h;
      c.getContext('2d').drawImage(img, 0, 0, w, h);
      return c.getContext('2d').getImageData(0, 0, w, h).data;
    };
    const a = pixels(result), b = pixels(photo);
    const mean = (x0, x1) => {
      let sum = 0, n = 0;
      for (let y = 0; y < h; y++) for (let x = x0; x < x1; x++) for (let k = 0; k < 3; k++) { sum += Math.abs(a[(y * w + x) * 4 + k] - b[(y * w + x) * 4 + k]); n++; }
      return sum / n;
    };
    return { left: mean(0, Math.floor(w / 4)), right: mean(Math.ceil((3 * w) / 4), w) };
  });
  check(quarters.left > 20 && quarters.right < 8,
    `the style covers the painted region and the photo stays elsewhere (mean change ${quarters.left.toFixed(1)} left, ${quarters.right.toFixed(1)} right)`);
  await page.screenshot({ path: path.join(out, 'web-page-adain.png'), fullPage: true });
  await page.uncheck('#mask-on');

  // 2b. A GAN paints the style: its pictures are shown first, and the job uses exactly those.
  check(await page.isVisible('#gan-box') && await page.$eval('#gan', (s) => s.value) === 'painter', 'the GAN of the models folder is offered as a style source');
  check(!(await page.isVisible('#gan-category')), 'a GAN without latent categories offers no kinds');
  await page.selectOption('#gan', 'tiles');
  check(await page.isVisible('#gan-category') && (await page.$$eval('#gan-category option', (o) => o.map((x) => x.value))).join() === ',0,1,2',
    'the kinds of a GAN with latent categories are offered (any, 0-2)');
  await page.selectOption('#gan-category', '2');
  const kindRequest = page.waitForRequest((r) => r.url().includes('/v1/gans/tiles/styles') && r.url().includes('category=2'));
  await page.click('#gan-paint');
  await kindRequest;
  await page.waitForFunction(() => [...document.querySelectorAll('#gan-preview img')].some((i) => i.alt.includes('tiles') && i.complete && i.naturalWidth === 32));
  check(true, 'painting asks the GAN for the chosen kind and shows its picture');
  await page.selectOption('#gan', 'painter');
  check(!(await page.isVisible('#gan-category')), 'back to the GAN without kinds');
  await page.selectOption('#gan-count', '2');
  await page.fill('#gan-seed', '5');
  await page.click('#gan-paint');
  await page.waitForFunction(() => [...document.querySelectorAll('#gan-preview img')].filter((i) => i.complete && i.naturalWidth === 32).length === 2);
  const shownStyles = await page.$$eval('#gan-preview img', (imgs) => imgs.map((i) => i.getAttribute('src')));
  check(shownStyles.every((src) => src.startsWith('data:image/png;base64,')), 'the two painted pictures are shown before any job');
  check(await page.$eval('#style-preview', (img) => img.getAttribute('src')) === shownStyles[0], 'the first painted picture is the style shown');
  check(await page.getAttribute('#style-gallery button[data-file="starry_night.jpg"]', 'aria-pressed') === 'false', 'the gallery painting is no longer the style');
  await submitAndWait();
  const ganJobId = (await page.getAttribute('#result-image', 'src')).split('/')[3];
  const ganJob = await (await page.request.get(`${url}/v1/jobs/${ganJobId}`)).json();
  check(ganJob.style_gan && ganJob.style_gan.gan === 'painter' && ganJob.style_gan.seed === 5 && ganJob.style_gan.count === 2 &&
    ganJob.style_gan.category === undefined, `the job records the GAN, seed and count (${JSON.stringify(ganJob.style_gan)})`);
  for (const [i, styleUrl] of ganJob.style_urls.entries()) {
    const stored = Buffer.from(await (await page.request.get(url + styleUrl)).body()).toString('base64');
    check(`data:image/png;base64,${stored}` === shownStyles[i], `the job's style ${i + 1} is the picture shown`);
  }
  // Another seed: new pictures, and the one-pass result follows them.
  const ganResult = await page.getAttribute('#result-image', 'src');
  await page.click('#gan-another');
  await page.waitForFunction((previous) => {
    const img = document.getElementById('result-image');
    return img.getAttribute('src') !== previous && img.getAttribute('src').startsWith('blob:') && img.complete && img.naturalWidth > 0;
  }, ganResult, { timeout: 60000 });
  check(await page.$eval('#gan-seed', (i) => i.value) !== '5' &&
    (await page.$eval('#gan-preview img', (img) => img.getAttribute('src'))) !== shownStyles[0], 'Another paints new pictures and re-renders the result');
  await page.screenshot({ path: path.join(out, 'web-page-gan-style.png'), fullPage: true });

  // 3. A trained model.
  await page.click('#tab-model');
  check(await page.$eval('#model', (s) => [...s.options].map((o) => o.value).join(',')) === 'tiny', 'the model list comes from /v1/models');
  await page.selectOption('#image-size', '0');
  await page.fill('#strength', '0.7');
  await submitAndWait();
  check(await page.$eval('#result-image', (img) => img.naturalWidth) === 96, 'the model keeps the photo\'s full resolution');

  // 4. A video with the same model: a job over its frames, played back as a video.
  await page.setInputFiles('#content-file', clip);
  check(await page.isVisible('#content-video') && !(await page.isVisible('#content-preview')), 'the video is previewed as a video');
  await page.click('#submit');
  await page.waitForFunction(() => {
    const v = document.getElementById('result-video');
    return !document.getElementById('result-box').hidden && !v.hidden && /\/result$/.test(v.getAttribute('src') || '') &&
      v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 180000 });
  const played = await page.$eval('#result-video', (v) => ({ w: v.videoWidth, h: v.videoHeight, d: v.duration }));
  check(played.w === 96 && played.h === 64 && Math.abs(played.d - 1.2) < 0.25,
    `the stylized video plays in the page at the clip's size and length (${played.w}x${played.h}, ${played.d.toFixed(2)} s)`);
  const info = await page.textContent('#result-info');
  check(/^6 frames of 96×64 in .*warping error/.test(info), `the result names its frames and flicker (${info})`);
  check(await page.isHidden('#result-image') && await page.isHidden('#report'), 'no still image and no report for a video');
  await page.screenshot({ path: path.join(out, 'web-page-video.png'), fullPage: true });

  // 5. The gallery remembers the five jobs, and one can be deleted.
  await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 5);
  check(true, 'the gallery lists the five jobs');
  check((await page.textContent('#gallery')).includes('painted by painter'), 'the GAN job is captioned with its GAN');
  await page.click('#gallery li:first-child button');
  await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 4);
  check(true, 'a job is deleted from the gallery');
  await page.screenshot({ path: path.join(out, 'web-page-model.png'), fullPage: true });

  check(errors.length === 0, `no script errors in the page${errors.length ? ': ' + errors.join('; ') : ''}`);
  console.log(`screenshots in ${out}`);
} catch (e) {
  console.error(e.message);
  console.error(`--- impasto serve said:\n${log()}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  if (!args.out) fs.rmSync(work, { recursive: true, force: true });
}
