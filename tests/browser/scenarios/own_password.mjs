// Directory: the signed-in administrator changes their own password.  The
// form asks for the current one too; a wrong one is refused with the
// server's reason (and the session goes on), the right one sets it and
// the session ends (the sign-in form comes back).
export default async function (t) {
  const { page } = t;
  await t.signIn();
  await t.open('#/directory', 'Directory');
  await page.getByRole('button', { name: `Set password of ${t.user}` }).click();
  const current = page.getByLabel('Your current password');
  await current.waitFor();
  const focused = await current.evaluate((el) => el === document.activeElement);
  const form = page.locator('form', { has: current });
  await current.fill('not my password at all');
  await page.getByLabel(`New password for ${t.user}`).fill(t.params.newPassword);
  await form.getByRole('button', { name: 'Save password' }).click();
  const bad = form.locator('.result.bad');
  await bad.waitFor();
  const refusal = await bad.innerText();
  const stillIn = await page.getByRole('heading', { name: 'Directory', level: 1 }).isVisible();
  await t.axe('Directory, own password');
  await current.fill(t.password);
  await form.getByRole('button', { name: 'Save password' }).click();
  // The session ended with the change: the console asks to sign in again.
  await page.getByRole('button', { name: /sign in/i }).waitFor();
  const said = await page.locator('#status').filter({ hasText: /\S/ }).innerText();
  await t.shot('own-password-signed-out');
  return { focused, refusal, stillIn, said };
}
