// Email Settings, Check buttons: the form's unsaved values are tested.
// params.pop: {host, port, security, user, password, ca, closed} and/or
// params.smtp: {host, port, tls, auth, user, password, ca, closed}; each
// check is pressed against the live server (OK, green) and against a
// closed port (Failed, red, with the reason).  Nothing is saved.
async function runCheck(t, button, box, label) {
  await button.click();
  await box.filter({ hasText: /^(OK|Failed)/ }).waitFor({ timeout: 60000 });
  const cls = await box.getAttribute('class');
  const text = await box.innerText();
  await t.shot(label);
  return { text, ok: cls.includes(' ok'), bad: cls.includes(' bad'), role: await box.getAttribute('role') };
}

async function pop(t, p) {
  const { page } = t;
  await page.getByLabel('POP3 system mailbox').check();
  const provider = page.getByLabel('Mail provider');
  await provider.selectOption('gmail');
  const preset = { host: await page.getByLabel('POP server').inputValue(), port: await page.getByLabel('Port').first().inputValue() };
  await provider.selectOption('custom');
  await page.getByLabel('POP server').fill(p.host);
  await page.getByLabel('Port').first().fill(String(p.port));
  await page.getByLabel('Security').first().selectOption(p.security);
  await page.getByLabel('User name').first().fill(p.user);
  await page.getByLabel('Password').first().fill(p.password);
  await page.getByLabel('CA bundle (optional)').first().fill(p.ca || '');
  const button = page.getByRole('button', { name: 'Check POP Settings' });
  const box = page.locator('section', { has: page.getByRole('heading', { name: 'POP (Incoming)' }) }).locator('.result');
  const good = await runCheck(t, button, box, 'check-pop-ok');
  await page.getByLabel('Port').first().fill(String(p.closed));
  const closed = await runCheck(t, button, box, 'check-pop-closed');
  return { preset, good, closed };
}

async function smtp(t, p) {
  const { page } = t;
  const section = page.locator('section', { has: page.getByRole('heading', { name: 'SMTP (Outgoing)' }) });
  await section.getByLabel('Through an SMTP relay').check();
  await section.getByLabel('SMTP server').fill(p.host);
  await section.getByLabel('Port').fill(String(p.port));
  await section.getByLabel('Security').selectOption(p.tls);
  await section.getByLabel('Login').selectOption(p.auth);
  await section.getByLabel('User name').fill(p.user);
  await section.getByLabel('Password').fill(p.password);
  await section.getByLabel('CA bundle (optional)').fill(p.ca || '');
  const button = section.getByRole('button', { name: 'Check SMTP Settings' });
  const box = section.locator('.result');
  const good = await runCheck(t, button, box, 'check-smtp-ok');
  await section.getByLabel('Port').fill(String(p.closed));
  const closed = await runCheck(t, button, box, 'check-smtp-closed');
  return { good, closed };
}

export default async function (t) {
  const { page } = t;
  await t.signIn();
  await page.goto(t.base + '/#/settings');
  await page.getByRole('heading', { name: 'Email Settings', level: 1 }).waitFor();
  await page.getByLabel('Fallback address').waitFor();
  const out = {};
  if (t.params.pop) out.pop = await pop(t, t.params.pop);
  if (t.params.smtp) out.smtp = await smtp(t, t.params.smtp);
  await t.axe('Email Settings with check results');
  out.stored = await page.evaluate(async () => {
    const doc = await (await fetch('/api/v1/settings')).json();
    return Object.fromEntries(doc.settings.filter((s) => ['pop_server', 'smtp_server'].includes(s.name)).map((s) => [s.name, s.value]));
  });
  return out;
}
