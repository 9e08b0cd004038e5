'use strict';
/* The colour theme: the header's button cycles auto -> dark -> light.
   The choice is kept twice: in localStorage "theme" (the Django admin's key and values, so the
   admin's toggle and ours agree) and in the confops_theme cookie, from which the server renders
   <html data-theme> on the next page, so it paints in the right colours without a flash.
   Loaded in <head> without defer (also in the admin) so a choice made in the admin applies
   before the first paint. */
(function () {
  const MODES = ['auto', 'dark', 'light'];
  const COOKIE = 'confops_theme';
  const root = document.documentElement;

  function valid(mode) { return MODES.includes(mode) ? mode : null; }

  function stored() {
    try { return valid(localStorage.getItem('theme')); } catch (e) { return null; }
  }

  function remember(mode) {
    try { localStorage.setItem('theme', mode); } catch (e) { /* storage off: the cookie still holds it */ }
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = COOKIE + '=' + mode + '; path=/; max-age=31536000; SameSite=Lax' + secure;
  }

  function label(mode) {
    const button = document.getElementById('theme-toggle');
    if (!button) return;
    button.textContent = 'Theme: ' + mode;
    button.setAttribute('aria-label', 'Colour theme: ' + mode + ' (change)');
    button.hidden = false;
  }

  function apply(mode) {
    root.dataset.theme = mode;
    remember(mode);
    label(mode);
  }

  // The admin's toggle may have changed localStorage since the server read the cookie.
  apply(stored() || valid(root.dataset.theme) || 'auto');

  document.addEventListener('DOMContentLoaded', function () {
    label(root.dataset.theme);
  });
  document.addEventListener('click', function (event) {
    if (event.target.closest('#theme-toggle')) {
      const current = MODES.indexOf(root.dataset.theme);
      apply(MODES[(current + 1) % MODES.length]);
    } else if (event.target.closest('.theme-toggle')) {
      // The admin's own button: its handler has written localStorage; copy it to the cookie.
      setTimeout(function () { remember(stored() || 'auto'); }, 0);
    }
  });
})();
