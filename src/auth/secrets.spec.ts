import { Secrets } from './secrets.js';

/** Made by the `argon2` npm package (0.45, argon2id defaults) that niix used before @node-rs/argon2. */
const HASH_FROM_THE_EARLIER_LIBRARY = '$argon2id$v=19$m=65536,p=4,t=3$+kLrBO0DVDnpZ8WxTvJYTA$quuesgLmGoQ1GgASXSCIolbiqExXOTG0EcbpK7i2HwY';

describe(Secrets.name, () => {
  const secrets = new Secrets();

  it('verifies a password hash made by the earlier argon2 library', async () => {
    await expect(secrets.verifyPassword(HASH_FROM_THE_EARLIER_LIBRARY, 'station-admin-2025!')).resolves.toBe(true);
    await expect(secrets.verifyPassword(HASH_FROM_THE_EARLIER_LIBRARY, 'station-admin-2026!')).resolves.toBe(false);
  });

  it('hashes with argon2id and the same cost as before, and verifies its own hashes', async () => {
    const hash = await secrets.hashPassword('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$/);
    await expect(secrets.verifyPassword(hash, 'correct horse battery')).resolves.toBe(true);
    await expect(secrets.verifyPassword(hash, 'correct horse battery ')).resolves.toBe(false);
  });

  it('answers false, not an error, for a stored value that is not a hash', async () => {
    await expect(secrets.verifyPassword('not-a-hash', 'anything')).resolves.toBe(false);
  });
});
