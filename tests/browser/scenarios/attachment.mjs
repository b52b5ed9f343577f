// Open a message from its project's list and download its attachment as a
// person would (the link); the file is saved where the test can compare
// its bytes.  params: {project, subject, filename}
import path from 'node:path';

export default async function (t) {
  const page = t.page;
  await t.signInApi();
  await page.goto(`${t.base}/#/mail/project/${t.params.project}`);
  await page.getByRole('link', { name: t.params.subject }).first().click();
  await page.locator('h1', { hasText: t.params.subject }).waitFor();
  const link = page.getByRole('link', { name: t.params.filename });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = path.join(t.dir, 'downloaded-' + download.suggestedFilename());
  await download.saveAs(file);
  await t.shot('message-with-attachment');
  return { file, suggested: download.suggestedFilename(), href: await link.getAttribute('href') };
}
