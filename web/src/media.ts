import { ApiFailure, authHeader } from './api';
import { h } from './dom';

/**
 * An image from an API route that wants the bearer token (an <img src> cannot send it): fetched, shown through an
 * object URL, released once decoded. `data-loaded` is set when it shows (tests wait on it).
 */
export function authorizedImage(url: string, attrs: { alt: string; class?: string }): HTMLImageElement {
  const image = h('img', { alt: attrs.alt, class: attrs.class, loading: 'lazy', decoding: 'async' });
  void fetch(url, { headers: authHeader() })
    .then(async (response) => {
      if (!response.ok) throw new Error(String(response.status));
      const objectUrl = URL.createObjectURL(await response.blob());
      image.addEventListener('load', () => URL.revokeObjectURL(objectUrl), { once: true });
      image.src = objectUrl;
      image.dataset.loaded = 'true';
    })
    .catch(() => {
      image.dataset.loaded = 'failed';
      image.title = `${attrs.alt} (not available)`;
    });
  return image;
}

/** Downloads an API route that wants the bearer token (CSV exports): fetch, blob, object URL, a click. */
export async function downloadWithToken(url: string, filename: string): Promise<void> {
  const response = await fetch(url, { headers: authHeader() });
  if (!response.ok) throw new ApiFailure(response.status, `http_${response.status}`, `the download was refused (${response.status})`);
  const objectUrl = URL.createObjectURL(await response.blob());
  const link = h('a', { href: objectUrl, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 10_000);
}

/** A link that downloads an API route with the bearer token. */
export function downloadLink(url: string, filename: string, label: string, onError: (error: unknown) => void): HTMLAnchorElement {
  return h(
    'a',
    {
      href: url,
      class: 'download',
      'data-download': filename,
      onclick: (event: Event) => {
        event.preventDefault();
        downloadWithToken(url, filename).catch(onError);
      },
    },
    label,
  );
}
