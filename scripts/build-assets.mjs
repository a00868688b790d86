// Copies the front-end packages from node_modules into marketplace/static/vendor/ (git-ignored).
// Run by `npm run build` (the Makefile's `assets` target). Pages work without these files, on static/css/app.css.
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "marketplace", "static", "vendor");

// [package, file inside the package (first that exists), target under vendor/]
const files = [
  ["bootstrap", ["dist/css/bootstrap.min.css"], "bootstrap/bootstrap.min.css"],
  ["bootstrap", ["dist/css/bootstrap.min.css.map"], "bootstrap/bootstrap.min.css.map"],
  ["bootstrap", ["dist/js/bootstrap.bundle.min.js"], "bootstrap/bootstrap.bundle.min.js"],
  ["bootstrap", ["dist/js/bootstrap.bundle.min.js.map"], "bootstrap/bootstrap.bundle.min.js.map"],
  ["bootstrap", ["LICENSE"], "bootstrap/LICENSE"],
  ["htmx.org", ["dist/htmx.min.js"], "htmx/htmx.min.js"],
  ["htmx.org", ["LICENSE"], "htmx/LICENSE"],
  ["chart.js", ["dist/chart.umd.min.js", "dist/chart.umd.js"], "chart.js/chart.umd.js"],
  ["chart.js", ["LICENSE.md"], "chart.js/LICENSE.md"],
  ["swagger-ui-dist", ["swagger-ui-bundle.js"], "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist", ["swagger-ui.css"], "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist", ["LICENSE"], "swagger-ui/LICENSE"],
];

rmSync(vendor, { recursive: true, force: true });
let missing = 0;
for (const [pkg, candidates, target] of files) {
  const source = candidates.map((c) => join(root, "node_modules", pkg, c)).find((p) => existsSync(p));
  if (!source) {
    if (!target.endsWith(".map")) {
      console.error(`build-assets: ${pkg}: none of ${candidates.join(", ")} found; run npm install`);
      missing += 1;
    }
    continue;
  }
  const dest = join(vendor, target);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(source, dest);
}
if (missing) {
  process.exit(1);
}
console.log(`build-assets: copied into ${vendor}`);
