// Sign in through the console's form: a wrong password is refused and said
// so (the form stays), the right one opens the console.  axe-core on the
// form; screenshots of the form and of the first page after it.
export default async function (t) {
  const page = t.page;
  await page.goto(t.base + '/');
  const user = page.getByLabel(/user name/i);
  await user.waitFor();
  await t.axe('sign-in form');
  await t.shot('sign-in');
  await user.fill(t.user);
  await page.getByLabel(/password/i).fill('not the password');
  await page.getByRole('button', { name: /sign in/i }).click();
  const alert = page.getByRole('alert').filter({ hasText: /\S/ }).first();
  await alert.waitFor();
  const refused = await alert.innerText();
  await t.shot('sign-in-refused');
  const session = await t.signIn();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Mailboxes' }).waitFor();
  await page.locator('h1').first().waitFor();
  await t.axe('first page after sign-in');
  await t.shot('signed-in');
  // Opened again with the session cookie (a reload, a bookmark): the page
  // is drawn once.  Every page drawn adds a div.page to the main area;
  // the counter is set up before any of the console's scripts run.
  await page.addInitScript(() => {
    window.pageDraws = 0;
    new MutationObserver((changes) => {
      for (const c of changes) for (const n of c.addedNodes)
        if (n.classList && n.classList.contains('page')) window.pageDraws += 1;
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(t.base + '/#/directory');
  await page.reload();
  await page.getByRole('heading', { name: 'Directory', level: 1 }).waitFor();
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
  const draws = await page.evaluate(() => window.pageDraws);
  const cookies = (await t.context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));
  return { refused, session: { user: session.user, admin: session.admin }, cookies, h1: await page.locator('h1').first().innerText(), draws };
}
