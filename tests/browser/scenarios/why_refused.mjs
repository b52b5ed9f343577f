// "Why didn't my email come through?": type the sender's address, search,
// find the refused attempt with its reason and what to do.
// params: {address}
export default async function (t) {
  const page = t.page;
  await t.signInApi();
  await page.goto(t.base + '/#/why');
  await page.getByLabel('Address, Message-ID or log number').fill(t.params.address);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const card = page.locator('.why-attempt', { hasText: 'Refused' }).first();
  await card.waitFor();
  await t.axe('why page with a refused attempt');
  await t.shot('why-refused');
  return { text: await card.innerText(), hash: new URL(page.url()).hash };
}
