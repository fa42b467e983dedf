/*
 * Cross-origin isolation for static hosts that cannot send COOP/COEP headers (GitHub Pages and the like).
 * wasm threads need SharedArrayBuffer, which browsers only give a cross-origin-isolated page. Loaded as a
 * plain <script> in index.html, this file registers itself as a service worker; the worker re-serves every
 * same-origin response with the two headers, and the page reloads once so that it is served through it.
 * Cross-origin requests are left alone: under COEP require-corp they must be CORS requests, which the app's
 * fetches of Hub files already are. Where headers are already set (vite dev/preview) it does nothing.
 * The technique is the one of github.com/gzuidhof/coi-serviceworker; this is a fresh, smaller version.
 */
if (typeof window === 'undefined') {
  self.addEventListener('install', () => self.skipWaiting());
  self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
  self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (new URL(request.url).origin !== self.location.origin) return;
    if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
    event.respondWith(
      fetch(request).then((response) => {
        if (response.status === 0) return response;
        const headers = new Headers(response.headers);
        headers.set('Cross-Origin-Opener-Policy', 'same-origin');
        headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
        headers.set('Cross-Origin-Resource-Policy', 'same-origin');
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
      }),
    );
  });
} else {
  (() => {
    const KEY = 'taskscope-coi-reloaded';
    if (window.crossOriginIsolated) {
      sessionStorage.removeItem(KEY);
      return;
    }
    if (!window.isSecureContext || !('serviceWorker' in navigator)) return;
    // One reload only: a browser that stays unisolated behind the worker just runs wasm on one thread.
    const reloadOnce = () => {
      if (sessionStorage.getItem(KEY)) return;
      sessionStorage.setItem(KEY, '1');
      window.location.reload();
    };
    navigator.serviceWorker.register(document.currentScript.src).then(
      (registration) => {
        if (registration.active && navigator.serviceWorker.controller)
          reloadOnce(); // controlled, yet headers missing: an old worker
        else navigator.serviceWorker.addEventListener('controllerchange', reloadOnce);
      },
      (error) => console.warn(`coi-serviceworker: registration failed (${error}); wasm runs on one thread`),
    );
  })();
}
