// Injected by the test harness into every page before the page's own scripts (Playwright
// add_init_script): reports each Content-Security-Policy violation to the test process.
document.addEventListener("securitypolicyviolation", (event) => {
  const report = window.__accordReport;
  if (typeof report === "function") {
    report({
      directive: event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      page: document.location.href,
    });
  }
});
