// Email Settings, Save: a form with one refused value stores nothing (all
// or nothing) and marks the field; corrected, it is stored and the page
// says when it applies; after a reload the form shows the stored values.
// What the server holds is read back through the API with the page's own
// session (fetch), between the two saves.  axe-core and screenshots at
// desktop and phone width.
const settingsNow = (page) => page.evaluate(async () => {
  const doc = await (await fetch('/api/v1/settings')).json();
  return Object.fromEntries(doc.settings.map((s) => [s.name, s.value]));
});

export default async function (t) {
  const { page } = t;
  await t.signIn();
  await page.goto(t.base + '/#/settings');
  await page.getByRole('heading', { name: 'Email Settings', level: 1 }).waitFor();
  const size = page.getByLabel('Largest message');
  const fallback = page.getByLabel('Fallback address');
  await fallback.waitFor();
  await t.shot('settings');
  await t.axe('Email Settings');

  await fallback.fill(t.params.fallback);
  await size.fill('lots');
  const save = page.getByRole('button', { name: 'Save settings' });
  const result = page.locator('.save-bar .result');
  await save.click();
  await result.filter({ hasText: /Failed/ }).waitFor();
  const refused = await result.innerText();
  const invalid = await size.getAttribute('aria-invalid');
  const focused = await size.evaluate((el) => el === document.activeElement);
  const afterRefusal = await settingsNow(page);
  await t.shot('settings-refused');

  await size.fill(t.params.size);
  await save.click();
  await result.filter({ hasText: /^OK/ }).waitFor();
  const saved = await result.innerText();
  // The status line is written 30 ms after it is emptied (so a repeated
  // message is announced again): wait for it, with the scenario's limit.
  await page.locator('#status').filter({ hasText: /^OK: Saved\./ }).waitFor();
  const live = await page.locator('#status').innerText();
  const afterSave = await settingsNow(page);
  await t.shot('settings-saved');

  await page.reload();
  await page.getByLabel('Largest message').waitFor();
  await page.waitForFunction(() => document.querySelector('input[name=max_message_size]')?.value !== '');
  const shown = {
    size: await page.getByLabel('Largest message').inputValue(),
    fallback: await page.getByLabel('Fallback address').inputValue(),
  };
  await page.setViewportSize({ width: 360, height: 800 });
  await t.shot('settings-360');
  await t.axe('Email Settings at 360 px');
  // Anything wider than the screen, named (the page must hold at 360 px).
  const overflow = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !(el.parentElement && el.parentElement.closest('.table-wrap')))
    .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`));
  return { refused, invalid, focused, saved, live, shown, overflow,
    afterRefusal: { size: afterRefusal.max_message_size, fallback: afterRefusal.fallback_address },
    afterSave: { size: afterSave.max_message_size, fallback: afterSave.fallback_address } };
}
