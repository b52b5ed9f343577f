// Every mail page (and the why page): open it, wait until it has drawn
// (its heading and the status line), run axe-core (serious or critical
// violations fail), take a screenshot; at desktop width and at a phone's
// 360 px, where nothing may be wider than the screen.
// params: {pages: [{name, hash, expect}]} with expect a text the page must show.
export default async function (t) {
  if (!t.params.noSignIn) await t.signInApi();
  const seen = [];
  for (const width of [1280, 360]) {
    await t.page.setViewportSize({ width, height: width > 400 ? 900 : 740 });
    for (const p of t.params.pages) {
      await t.page.goto(t.base + '/' + p.hash);
      await t.page.locator('h1').first().waitFor();
      if (p.expect) await t.page.getByText(p.expect, { exact: false }).first().waitFor();
      await t.page.waitForFunction(() => (document.querySelector('[role=status]') || {}).textContent &&
        [...document.querySelectorAll('iframe')].every((f) => f.dataset.loaded));
      const axe = await t.axe(`${p.name} at ${width}px`);
      const overflow = await t.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 1) throw new Error(`${p.name} at ${width}px is ${overflow}px wider than the screen`);
      const shot = await t.shot(`${p.name}-${width}`);
      seen.push({ page: p.name, width, minor: axe.minor, shot, h1: await t.page.locator('h1').first().innerText() });
    }
  }
  return { pages: seen };
}
