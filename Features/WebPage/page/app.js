// Shortlink's web page: a person's view of the public API, with the API key they paste. No framework: the page's
// HTML is static, this module fills it in with DOM calls (never innerHTML, so nothing from the API is ever markup),
// and the chart library is loaded only when a link's clicks are opened.

const keyStorage = 'shortlink.apiKey';
const pageSize = 20;
const script = document.querySelector('script[data-chart]');
const $ = (id) => document.getElementById(id);

/** An answer the API refused: its status and RFC 9457 problem, and Retry-After in seconds when it gave one. */
class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.detail || problem.title || `The service answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

const session = {
  get key() { return sessionStorage.getItem(keyStorage); },
  set key(value) {
    if (value) sessionStorage.setItem(keyStorage, value);
    else sessionStorage.removeItem(keyStorage);
  },
  me: null,
};

// ---- the API

async function api(path, { method = 'GET', body, accept = 'application/json', key = session.key, contentType = 'application/json' } = {}) {
  const headers = { Accept: accept, Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = contentType;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, { title: 'The service could not be reached', detail: 'Check your connection and try again.' });
  }
  if (response.ok) return response;
  let problem = { title: response.statusText, detail: '' };
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    problem = await response.json().catch(() => problem);
  }
  const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  throw new ApiError(response.status, problem, Number.isNaN(retryAfter) ? undefined : retryAfter);
}

async function apiJson(path, options) {
  const response = await api(path, options);
  return response.status === 204 ? null : response.json();
}

// ---- messages

function announce(text) {
  // Emptied first so that the same words twice are read out twice.
  $('status').textContent = '';
  setTimeout(() => { $('status').textContent = text; }, 50);
}

function showNotice(text) {
  const notice = $('notice');
  notice.textContent = text;
  notice.hidden = false;
}

function clearNotice() {
  $('notice').hidden = true;
  $('notice').textContent = '';
}

function retryText(seconds) {
  if (seconds === undefined) return 'Wait a little and try again.';
  if (seconds < 90) return `Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
  return `Try again in ${Math.ceil(seconds / 60)} minutes.`;
}

/** What a refusal means to a person, for the ones every request can meet. */
function explain(error) {
  switch (error.status) {
    case 401: return `Your API key was not accepted: ${error.problem.detail || error.problem.title}`;
    case 403: return `Not allowed with this key${session.me ? ` (${session.me.role})` : ''}: ${error.problem.detail || error.problem.title}`;
    case 429: return `Too many requests: the service's quota is used up for now. ${retryText(error.retryAfter)}`;
    case 0: return `${error.problem.title}. ${error.problem.detail}`;
    default:
      if (error.status >= 500) return `The service could not do this just now (${error.status}). ${retryText(error.retryAfter)}`;
      return `${error.problem.title}${error.problem.detail ? `: ${error.problem.detail}` : ''}`;
  }
}

/** A refused key ends the session: the page goes back to signing in and says why. */
function handle(error) {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 401) {
    signOut();
    showNotice(`${explain(error)} It may have expired or been revoked. Sign in with a valid key.`);
    return;
  }
  showNotice(explain(error));
}

// ---- field errors: the problem's errors map, shown next to the fields they name

function fieldErrorId(input) { return `${input.id}-error`; }

function clearFieldErrors(form) {
  for (const message of form.querySelectorAll('.error')) message.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const describedBy = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== fieldErrorId(input));
    if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

function showFieldError(input, text) {
  const id = fieldErrorId(input);
  let message = document.getElementById(id);
  if (!message) {
    message = document.createElement('p');
    message.id = id;
    message.className = 'error';
    input.closest('.field').append(message);
    input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${id}`.trim());
  }
  message.textContent = message.textContent ? `${message.textContent} ${text}` : text;
  input.setAttribute('aria-invalid', 'true');
}

/**
 * Puts each message of a refusal next to its field: "tags[2]" and "tags" both belong to the tags field, a taken
 * slug to the slug field. What no field of the form answers for becomes the page's notice. True when shown.
 */
function showProblemOnForm(form, error) {
  if (!(error instanceof ApiError) || ![400, 409, 422].includes(error.status)) return false;
  const byField = new Map();
  const errors = error.problem.errors || {};
  for (const [name, messages] of Object.entries(errors)) {
    const field = name.replace(/^\$\.?/, '').split(/[[.]/)[0];
    byField.set(field, [...(byField.get(field) || []), ...messages]);
  }
  if (error.problem.slug !== undefined && !byField.size) byField.set('slug', [error.problem.detail]);
  const unplaced = [];
  let first = null;
  for (const [field, messages] of byField) {
    const input = form.elements.namedItem(field);
    if (input instanceof HTMLElement && input.closest('.field')) {
      showFieldError(input, messages.join(' '));
      first ??= input;
    } else {
      unplaced.push(...messages);
    }
  }
  if (!byField.size) unplaced.push(explain(error));
  if (unplaced.length) showNotice(unplaced.join(' '));
  if (first) {
    first.closest('details')?.setAttribute('open', '');
    first.focus();
  }
  return true;
}

// ---- small helpers

function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else if (name === 'className') node.className = value;
    else if (name === 'textContent') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function hiddenText(text) { return element('span', { className: 'visually-hidden', textContent: text }); }

function tagsOf(text) { return text.split(',').map((tag) => tag.trim()).filter(Boolean); }

/** datetime-local is the browser's own time; the API takes an instant with its offset. */
function instantFromLocal(value) { return value ? new Date(value).toISOString() : null; }

function localFromInstant(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (number) => String(number).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

function download(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = element('a', { href: url, download: fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`Copied ${text}`);
  } catch {
    showNotice(`The browser did not allow copying. The short link is ${text}`);
  }
}

async function downloadQr(code, format) {
  try {
    const response = await api(`/api/v1/links/${encodeURIComponent(code)}/qr?format=${format}&size=512`, { accept: format === 'svg' ? 'image/svg+xml' : 'image/png' });
    download(await response.blob(), `${code}.${format}`);
  } catch (error) {
    handle(error);
  }
}

/** Disables a form's buttons while its request runs, so a double click sends it once. */
async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  for (const button of buttons) button.disabled = true;
  try {
    await work();
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

// ---- signing in and out

async function signIn(key) {
  const me = await apiJson('/api/v1/keys/me', { key });
  session.key = key;
  session.me = me;
  $('signed-in-as').textContent = `Signed in as ${me.name} (${me.role})`;
  $('session').hidden = false;
  $('sign-in').hidden = true;
  $('workspace').hidden = false;
  const readOnly = me.role === 'readonly';
  $('create-form').hidden = readOnly;
  $('create-readonly').hidden = !readOnly;
}

function signOut() {
  session.key = null;
  session.me = null;
  $('session').hidden = true;
  $('workspace').hidden = true;
  $('created').hidden = true;
  $('stats').hidden = true;
  $('link-list').replaceChildren();
  $('sign-in').hidden = false;
  $('sign-in-form').reset();
  clearNotice();
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const input = $('sign-in-key');
  clearFieldErrors(form);
  clearNotice();
  const key = input.value.trim();
  if (!key) {
    showFieldError(input, 'Paste your API key.');
    input.focus();
    return;
  }
  busy(form, async () => {
    try {
      await signIn(key);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      session.key = null;
      if (error.status === 401) showFieldError(input, `This key was not accepted: ${error.problem.detail || error.problem.title}`);
      else showNotice(explain(error));
      input.focus();
      return;
    }
    input.value = '';
    (session.me.role === 'readonly' ? $('search-q') : $('create-url')).focus();
    await loadLinks(true);
  });
});

$('sign-out').addEventListener('click', () => {
  signOut();
  announce('Signed out');
  $('sign-in-key').focus();
});

// ---- creating a link

let created = null;

$('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  clearNotice();
  const values = form.elements;
  const body = { url: values.url.value.trim() };
  if (values.slug.value.trim()) body.slug = values.slug.value.trim();
  const tags = tagsOf(values.tags.value);
  if (tags.length) body.tags = tags;
  if (values.expiresAt.value) body.expiresAt = instantFromLocal(values.expiresAt.value);
  if (values.maxVisits.value) body.maxVisits = Number(values.maxVisits.value);
  if (values.redirectType.value !== '302') body.redirectType = Number(values.redirectType.value);
  if (values.password.value) body.password = values.password.value;
  busy(form, async () => {
    try {
      created = await apiJson('/api/v1/links', { method: 'POST', body });
    } catch (error) {
      if (!showProblemOnForm(form, error)) handle(error);
      return;
    }
    form.reset();
    showCreated(created);
    prependLink(created);
  });
});

async function showCreated(link) {
  const anchor = $('created-link');
  anchor.href = link.shortUrl;
  anchor.textContent = link.shortUrl;
  $('created').hidden = false;
  announce(`Created ${link.shortUrl}`);
  $('created-copy').focus();
  const image = $('created-qr');
  image.hidden = true;
  try {
    const response = await api(`/api/v1/links/${encodeURIComponent(link.code)}/qr?format=png`, { accept: 'image/png' });
    if (image.src.startsWith('blob:')) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(await response.blob());
    image.alt = `QR code for ${link.shortUrl}`;
    image.hidden = false;
  } catch (error) {
    handle(error);
  }
}

$('created-copy').addEventListener('click', () => copy(created.shortUrl));
$('created-qr-png').addEventListener('click', () => downloadQr(created.code, 'png'));
$('created-qr-svg').addEventListener('click', () => downloadQr(created.code, 'svg'));

// ---- the list of links

let nextCursor = null;

function linkQuery(cursor) {
  const query = new URLSearchParams({ limit: String(pageSize) });
  const q = $('search-q').value.trim();
  const tag = $('search-tag').value.trim();
  if (q) query.set('q', q);
  if (tag) query.set('tag', tag);
  if (cursor) query.set('cursor', cursor);
  return query;
}

async function loadLinks(fresh) {
  let page;
  try {
    page = await apiJson(`/api/v1/links?${linkQuery(fresh ? null : nextCursor)}`);
  } catch (error) {
    if (!showProblemOnForm($('search-form'), error)) handle(error);
    return;
  }
  const list = $('link-list');
  if (fresh) list.replaceChildren();
  for (const link of page.items) list.append(linkItem(link));
  nextCursor = page.nextCursor ?? null;
  $('links-more').hidden = !nextCursor;
  $('links-empty').hidden = list.children.length > 0;
  if (!fresh) announce(`${page.items.length} more link${page.items.length === 1 ? '' : 's'}`);
}

function prependLink(link) {
  const list = $('link-list');
  list.prepend(linkItem(link));
  $('links-empty').hidden = true;
}

function linkItem(link) {
  const item = element('li', { dataset: { code: link.code } });
  renderLink(item, link);
  return item;
}

function renderLink(item, link) {
  const headingId = `link-${link.code}`;
  const canWrite = session.me?.role !== 'readonly';
  const meta = element('p', { className: 'meta' },
    element('span', { textContent: `Created ${dateTime.format(new Date(link.createdAt))}` }),
    link.expiresAt ? element('span', { textContent: `Expires ${dateTime.format(new Date(link.expiresAt))}` }) : null,
    link.maxVisits ? element('span', { textContent: `Visit limit ${number.format(link.maxVisits)}` }) : null,
    link.redirectType !== 302 ? element('span', { textContent: `Redirects with ${link.redirectType}` }) : null,
    link.hasPassword ? element('span', { textContent: 'Password protected' }) : null);
  const tags = link.tags.length
    ? element('ul', { className: 'tags', 'aria-label': `Tags of ${link.code}` }, ...link.tags.map((tag) => element('li', { textContent: tag })))
    : null;
  const button = (label, onClick, className = 'link-action') => {
    const node = element('button', { type: 'button', className }, label, hiddenText(` ${link.code}`));
    node.addEventListener('click', onClick);
    return node;
  };
  const actions = element('div', { className: 'actions' },
    button('Copy', () => copy(link.shortUrl)),
    button('Clicks', () => openStats(link)),
    canWrite ? button('Edit', () => editLink(item, link)) : null,
    canWrite ? button('Delete', () => confirmDelete(item, link)) : null);
  item.replaceChildren(...[
    element('h3', { id: headingId }, element('a', { href: link.shortUrl, textContent: link.shortUrl })),
    element('p', { className: 'target' }, hiddenText('Goes to '),
      element('a', { href: link.url, textContent: link.title ? `${link.title} — ${link.url}` : link.url, rel: 'noreferrer noopener', target: '_blank' })),
    meta, tags, actions].filter(Boolean));
}

function editLink(item, link) {
  const prefix = `edit-${link.code}`;
  const field = (name, label, input) => element('div', { className: 'field' },
    element('label', { for: `${prefix}-${name}`, textContent: label }), input);
  const url = element('input', { id: `${prefix}-url`, name: 'url', type: 'url', value: link.url, required: true });
  const tags = element('input', { id: `${prefix}-tags`, name: 'tags', type: 'text', value: link.tags.join(', ') });
  const expires = element('input', { id: `${prefix}-expiresAt`, name: 'expiresAt', type: 'datetime-local', value: localFromInstant(link.expiresAt) });
  const save = element('button', { type: 'submit' }, 'Save', hiddenText(` ${link.code}`));
  const cancel = element('button', { type: 'button', className: 'secondary' }, 'Cancel', hiddenText(` editing ${link.code}`));
  const form = element('form', { className: 'edit-form', novalidate: true, 'aria-label': `Edit ${link.shortUrl}` },
    element('div', { className: 'grid' }, field('url', 'Long URL', url), field('tags', 'Tags', tags), field('expiresAt', 'Expires', expires)),
    element('div', { className: 'actions' }, save, cancel));
  cancel.addEventListener('click', () => {
    renderLink(item, link);
    item.querySelector('button').focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    clearNotice();
    // A merge patch: only what changed is sent, and a cleared expiry is null.
    const patch = {};
    if (url.value.trim() !== link.url) patch.url = url.value.trim();
    const newTags = tagsOf(tags.value);
    if (newTags.join('\n') !== link.tags.join('\n')) patch.tags = newTags;
    const newExpiry = instantFromLocal(expires.value);
    if (expires.value !== localFromInstant(link.expiresAt)) patch.expiresAt = newExpiry;
    busy(form, async () => {
      try {
        const updated = Object.keys(patch).length
          ? await apiJson(`/api/v1/links/${encodeURIComponent(link.code)}`, { method: 'PATCH', body: patch, contentType: 'application/merge-patch+json' })
          : link;
        Object.assign(link, updated);
        renderLink(item, link);
        announce(`Saved ${link.shortUrl}`);
        item.querySelector('button').focus();
      } catch (error) {
        if (!showProblemOnForm(form, error)) handle(error);
      }
    });
  });
  item.replaceChildren(item.querySelector('h3'), form);
  url.focus();
}

let deleting = null;

function confirmDelete(item, link) {
  deleting = { item, link, opener: document.activeElement };
  $('confirm-delete-text').textContent = `${link.shortUrl} will stop redirecting, and its slug cannot be used again.`;
  $('confirm-delete').showModal();
  $('confirm-delete-cancel').focus();
}

$('confirm-delete-cancel').addEventListener('click', () => $('confirm-delete').close());
$('confirm-delete').addEventListener('close', () => {
  if (deleting?.opener?.isConnected) deleting.opener.focus();
});
$('confirm-delete-yes').addEventListener('click', async () => {
  const { item, link } = deleting;
  $('confirm-delete').close();
  try {
    await api(`/api/v1/links/${encodeURIComponent(link.code)}`, { method: 'DELETE' });
  } catch (error) {
    handle(error);
    return;
  }
  const next = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  $('links-empty').hidden = $('link-list').children.length > 0;
  if (!$('stats').hidden && $('stats').dataset.code === link.code) $('stats').hidden = true;
  announce(`Deleted ${link.shortUrl}`);
  (next?.querySelector('button') ?? $('search-q')).focus();
});

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearFieldErrors(event.currentTarget);
  clearNotice();
  busy(event.currentTarget, () => loadLinks(true));
});

$('links-more').addEventListener('click', async () => {
  const list = $('link-list');
  const before = list.children.length;
  await loadLinks(false);
  // Keyboard users carry on where the new links start.
  list.children[before]?.querySelector('a')?.focus();
});

// ---- a link's clicks

let statsLink = null;
let chart = null;
let chartModule = null;
// Only the answer to the latest request is shown: changing the period twice quickly must not end on the older one.
let statsRequest = 0;

function statsRange() {
  const days = Number($('stats-range').value);
  return { from: new Date(Date.now() - days * 86_400_000).toISOString() };
}

function openStats(link) {
  statsLink = link;
  const section = $('stats');
  section.dataset.code = link.code;
  section.hidden = false;
  $('stats-heading').textContent = `Clicks on ${link.shortUrl}`;
  loadStats().then(() => $('stats-heading').focus());
}

async function loadStats() {
  const form = $('stats-form');
  clearFieldErrors(form);
  clearNotice();
  const query = new URLSearchParams({
    ...statsRange(),
    interval: $('stats-interval').value,
    tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    includeBots: String($('stats-bots').checked),
  });
  const request = ++statsRequest;
  let stats;
  try {
    stats = await apiJson(`/api/v1/links/${encodeURIComponent(statsLink.code)}/stats?${query}`);
  } catch (error) {
    if (request === statsRequest && !showProblemOnForm(form, error)) handle(error);
    return;
  }
  if (request !== statsRequest) return;
  $('stats-visits').textContent = number.format(stats.visits);
  $('stats-unique').textContent = number.format(stats.uniqueVisitors);
  await drawChart(stats);
  $('stats-tables').replaceChildren(
    countTable('Top referrers', 'Referrer', stats.referrers, 'Direct or hidden'),
    countTable('Countries', 'Country', stats.countries, 'Unknown'),
    countTable('Browsers', 'Browser', stats.browsers, 'Unknown'),
    countTable('Operating systems', 'System', stats.operatingSystems, 'Unknown'),
    countTable('Devices', 'Device', stats.deviceTypes, 'Unknown'));
}

function countTable(caption, heading, counts, unknown) {
  const rows = counts.length
    ? counts.map((count) => element('tr', {},
        element('td', { textContent: count.value ?? unknown }),
        element('td', { className: 'count', textContent: number.format(count.visits) })))
    : [element('tr', {}, element('td', { colspan: '2', textContent: 'No visits in this period.' }))];
  return element('table', {},
    element('caption', { textContent: caption }),
    element('thead', {}, element('tr', {},
      element('th', { scope: 'col', textContent: heading }),
      element('th', { scope: 'col', className: 'count', textContent: 'Visits' }))),
    element('tbody', {}, ...rows));
}

async function loadChartModule() {
  if (!chartModule) {
    document.head.append(element('link', { rel: 'stylesheet', href: script.dataset.chartStyle }));
    chartModule = (await import(script.dataset.chart)).default;
  }
  return chartModule;
}

async function drawChart(stats) {
  const uPlot = await loadChartModule();
  const container = $('stats-chart');
  const times = stats.series.map((bucket) => Date.parse(bucket.start) / 1000);
  const visits = stats.series.map((bucket) => bucket.visits);
  const per = stats.interval === 'hour' ? 'hour' : 'day';
  const peak = stats.series.reduce((best, bucket) => (bucket.visits > (best?.visits ?? -1) ? bucket : best), null);
  container.setAttribute('aria-label', `Visits per ${per} from ${dateTime.format(new Date(stats.from))} to ${dateTime.format(new Date(stats.to))}: `
    + `${number.format(stats.visits)} in all${peak && peak.visits > 0 ? `, at most ${number.format(peak.visits)} in the ${per} from ${dateTime.format(new Date(peak.start))}` : ''}.`);
  $('stats-caption').textContent = `Visits per ${per}, in your time zone (${stats.tz}).`;
  const style = getComputedStyle(document.documentElement);
  const color = (name) => style.getPropertyValue(name).trim();
  const axis = { stroke: color('--muted'), grid: { stroke: color('--chart-grid') }, ticks: { stroke: color('--chart-grid') } };
  chart?.destroy();
  chart = new uPlot({
    width: Math.max(container.clientWidth, 280),
    height: 240,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_, min, max) => [0, Math.max(1, max)] } },
    axes: [axis, { ...axis, values: (_, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? number.format(tick) : '')) }],
    series: [{}, { label: 'Visits', stroke: color('--chart-line'), fill: color('--chart-fill'), width: 2, points: { show: times.length < 60 } }],
  }, [times, visits], container);
}

for (const id of ['stats-range', 'stats-interval', 'stats-bots']) {
  $(id).addEventListener('change', () => loadStats());
}

$('stats-close').addEventListener('click', () => {
  $('stats').hidden = true;
  chart?.destroy();
  chart = null;
  const opener = [...$('link-list').children].find((item) => item.dataset.code === statsLink.code);
  (opener?.querySelector('button') ?? $('search-q')).focus();
});

$('stats-csv').addEventListener('click', async () => {
  try {
    const query = new URLSearchParams(statsRange());
    const response = await api(`/api/v1/links/${encodeURIComponent(statsLink.code)}/visits?${query}`, { accept: 'text/csv' });
    download(await response.blob(), `${statsLink.code}-visits.csv`);
  } catch (error) {
    if (!showProblemOnForm($('stats-form'), error)) handle(error);
  }
});

addEventListener('resize', () => {
  if (chart) chart.setSize({ width: Math.max($('stats-chart').clientWidth, 280), height: 240 });
});

// ---- start: a key kept from earlier in this tab signs in again

if (session.key) {
  signIn(session.key).then(() => loadLinks(true), (error) => {
    signOut();
    if (error instanceof ApiError) showNotice(`${explain(error)} Sign in again.`);
    else throw error;
  });
} else {
  signOut();
}
