// Package e2e holds the browser tests (build tag e2e, run by `make e2e`):
// they build and start the server as a developer runs it, use it through its
// REST API, and check what a developer sees in headless Chromium, saving
// screenshots under e2e/screenshots.
package e2e
