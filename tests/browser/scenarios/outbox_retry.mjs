// The outbox shows a failed message with the far server's answer; Retry
// queues it again.  params: {subject}
export default async function (t) {
  const page = t.page;
  await t.signInApi();
  await page.goto(t.base + '/#/mail/outbox?failed=1');
  const row = page.locator('tr', { hasText: t.params.subject });
  await row.waitFor();
  const before = await row.innerText();
  await t.shot('outbox-failed');
  await row.getByRole('button', { name: /^Retry/ }).click();
  await page.getByRole('status').filter({ hasText: 'queued again' }).waitFor();
  await t.shot('outbox-retried');
  return { before, after: await row.innerText() };
}
