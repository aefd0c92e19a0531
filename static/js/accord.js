// Every page's behaviour: GOV.UK Frontend's components (data-module="govuk-*"). Loaded as a module
// from static/ (strict CSP: no inline code).
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

// GOV.UK Frontend runs only where <body> says the browser supports it; its own page template sets
// this class from an inline script, which the CSP refuses. A browser running this module script
// is exactly one it supports, so the class is set here, before its components start.
document.body.classList.add("govuk-frontend-supported");
// A component that cannot start (markup it does not expect) is a bug: report it as an error, so
// the browser tests, which fail on console errors, catch it.
initAll({ onError: (error) => console.error(error) });
