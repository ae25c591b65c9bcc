// Typeset the formulas in the search results' snippets (loaded on search.html only, by
// book/_ext/page_fixes.py). Sphinx adds the results one by one while the search runs; each
// change is typeset once MathJax is ready (changes made while a typeset runs are picked up
// by one more pass when it ends).
(function () {
  "use strict";
  let running = false;
  let again = false;
  function typeset(root) {
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return;
    if (running) { again = true; return; }
    running = true;
    MathJax.startup.promise
      .then(() => MathJax.typesetPromise([root]))
      .catch(() => {})
      .finally(() => {
        running = false;
        if (again) { again = false; typeset(root); }
      });
  }
  const ours = (n) => n.nodeType !== 1 || n.tagName.startsWith("MJX-") || n.closest("mjx-container");
  function watch() {
    const root = document.getElementById("search-results");
    if (!root) return;
    new MutationObserver((changes) => {
      if (changes.some((c) => [...c.addedNodes].some((n) => !ours(n)))) typeset(root);
    }).observe(root, { childList: true, subtree: true });
    typeset(root);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
