// Reply from a project to a message in it: open the message, Reply, write,
// send; the page links the stored reply.  params: {id, body}
export default async function (t) {
  const page = t.page;
  await t.signInApi();
  await page.goto(`${t.base}/#/mail/message/${t.params.id}`);
  await page.getByRole('link', { name: 'Reply' }).click();
  const body = page.getByLabel('Message', { exact: true });
  await body.waitFor();
  await body.fill(t.params.body);
  await t.axe('reply form');
  await t.shot('reply-form');
  await page.getByRole('button', { name: 'Send reply' }).click();
  const stored = page.getByRole('link', { name: 'The message as stored' });
  await stored.waitFor();
  await t.shot('reply-sent');
  return { href: await stored.getAttribute('href'), to: await page.getByLabel('To', { exact: true }).inputValue(),
           subject: await page.getByLabel('Subject', { exact: true }).inputValue() };
}
