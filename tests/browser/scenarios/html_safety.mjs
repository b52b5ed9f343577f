// A message whose HTML carries a script and a remote image: shown (its text
// is visible in the frame) without running the one or loading the other.
// The test's loopback server counts requests (the image, and what the
// script would fetch); here we report what the page itself can see: its
// title, messages posted to it, and the frame's sandbox.
// params: {id, visible}
export default async function (t) {
  const page = t.page;
  await t.context.addInitScript(() => {
    window.__posted = [];
    window.addEventListener('message', (e) => window.__posted.push(String(e.data)));
  });
  await t.signInApi();
  await page.goto(`${t.base}/#/mail/message/${t.params.id}`);
  const frameEl = page.locator('iframe.mail-html');
  await frameEl.waitFor();
  const frame = await (await frameEl.elementHandle()).contentFrame();
  await frame.waitForLoadState('load');
  await frame.getByText(t.params.visible).first().waitFor();
  await t.shot('message-html');
  return {
    title: await page.title(),
    posted: await page.evaluate(() => window.__posted),
    sandbox: await frameEl.getAttribute('sandbox'),
    src: await frameEl.getAttribute('src'),
    frameText: await frame.locator('body').innerText(),
  };
}
