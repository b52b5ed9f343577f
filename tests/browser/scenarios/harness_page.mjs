// The harness checking itself (test_browser_harness.py): open a static page,
// take its screenshot, run axe-core on it.  A page with a serious violation
// must make the scenario fail; a clean one must pass.  Also reports whether
// the page's inline script ran (its CSP forbids it: it must not).
export default async function (t) {
  await t.page.goto(t.base + t.params.path);
  await t.page.locator('h1').waitFor();
  const shot = await t.shot(t.params.name);
  const axe = await t.axe(t.params.path);
  return { title: await t.page.title(), shot, axe };
}
