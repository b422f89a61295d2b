// How the plugin's stores write what is private: as given, or (db.encryptionKey) encrypted and digested.
//
// With a key, three keys are derived from it with HKDF-SHA-256, one per purpose, so that none of them
// is the key jackson uses and learning one tells nothing of the others:
//   seal     AES-256-GCM for what is read back: resource bodies, member displays, event payloads and
//            failure texts. A fresh random 96-bit IV per value, so the same value written twice gives
//            two different ciphertexts; the tag authenticates it (another key fails, it does not
//            decrypt to garbage).
//   digest   HMAC-SHA-256 for what is looked up or must be unique (a userName's folded key, an
//            externalId, a displayName): equal values give equal digests under one key, so indexes and
//            unique constraints keep working, but nothing can be read back from them.
//   check    the fingerprint stored beside the data, which tells whether a later registration brings
//            the same key without revealing it.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { DecryptionError } from '../errors.js'

export interface Codec {
  /** Whether values are encrypted (an encryptionKey was given). */
  readonly encrypted: boolean
  /** Identifies the key (null without one); stored, compared at registration. */
  readonly fingerprint: string | null
  /** The stored form of a private text. */
  seal(text: string): string
  /** The text of a stored form; a value stored in clear (written without a key) is answered as is. */
  open(stored: string): string
  /** open(), or null when `stored` is not a value sealed under this key (still in clear). */
  tryOpen(stored: string): string | null
  /** The stored form of a lookup or uniqueness key. */
  digest(value: string): string
}

/** No key: everything is stored as given. */
export const plainCodec: Codec = {
  encrypted: false,
  fingerprint: null,
  seal: (text) => text,
  open: (stored) => stored,
  tryOpen: () => null,
  digest: (value) => value
}

// A sealed value: this prefix, then base64 of IV ‖ ciphertext ‖ tag. The version names the algorithm,
// so that another can follow without guessing.
const SEALED = 'enc:v1:'
const IV_BYTES = 12
const TAG_BYTES = 16
const SALT = 'fastify-directory-sync'

// As KeyObjects: a cipher or HMAC set up from one skips copying and checking the raw key each time
// (about a fifth of a set-up, which every value read or written pays).
const derive = (key: string, purpose: string): KeyObject => createSecretKey(Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), SALT, purpose, 32)))

/** The codec of an encryptionKey (options.ts has checked its form). */
export function encryptionCodec (encryptionKey: string): Codec {
  const sealKey = derive(encryptionKey, 'seal aes-256-gcm v1')
  const digestKey = derive(encryptionKey, 'digest hmac-sha256 v1')
  const fingerprint = createHmac('sha256', derive(encryptionKey, 'fingerprint v1')).update(SALT).digest('base64url')

  const open = (stored: string): string => {
    const data = Buffer.from(stored.slice(SEALED.length), 'base64')
    if (data.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('too short')
    const decipher = createDecipheriv('aes-256-gcm', sealKey, data.subarray(0, IV_BYTES))
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
    try {
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new DecryptionError('it does not authenticate under this key')
    }
  }

  return {
    encrypted: true,
    fingerprint,
    seal (text) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
      return SEALED + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')
    },
    open: (stored) => stored.startsWith(SEALED) ? open(stored) : stored,
    tryOpen (stored) {
      if (!stored.startsWith(SEALED)) return null
      try {
        return open(stored)
      } catch {
        return null // a value in clear that happens to look sealed
      }
    },
    digest: (value) => createHmac('sha256', digestKey).update(value, 'utf8').digest('base64url')
  }
}

/** The codec of a `db` option: encrypting when it has an encryptionKey (mem keeps nothing at rest). */
export function codecOf (db: { engine: string, encryptionKey?: string }): Codec {
  return db.engine !== 'mem' && db.encryptionKey !== undefined ? encryptionCodec(db.encryptionKey) : plainCodec
}
