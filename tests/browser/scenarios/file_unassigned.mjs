// File an Unassigned message into a project, by keyboard: the project is
// chosen in the row's list, Tab reaches its File button, Enter files it.
// The row leaves the list and the status line says where it went.
// params: {subject, project}
export default async function (t) {
  const page = t.page;
  await t.signInApi();
  await page.goto(t.base + '/#/mail/unassigned');
  const row = page.locator('tr', { hasText: t.params.subject });
  await row.waitFor();
  await t.shot('unassigned-before');
  const select = row.getByRole('combobox');
  await select.focus();
  await select.selectOption(t.params.project);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  await page.keyboard.press('Enter');
  const said = page.getByRole('status').filter({ hasText: `filed into project ${t.params.project}` });
  await said.waitFor();
  await row.waitFor({ state: 'detached' });
  await t.shot('unassigned-after');
  return { focused, status: await said.innerText() };
}
