/**
 * Key-value stores through which the ranks of a run find each other (c10d's TCPStore and
 * FileStore). A process group uses one for its rendezvous; they can also pass small values.
 */
import { native as N } from '../tensor/native.js';
import { DistributedError } from './distributed-error.js';

type StoreHandle = { readonly __kilnStore: never };

async function native<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DistributedError(`${what}: ${(error as Error).message}`);
  }
}

export interface TcpStoreOptions {
  /** Rank 0's address, as the other ranks reach it. */
  host: string;
  port: number;
  /** The rank that listens (normally rank 0); the others connect. */
  isServer: boolean;
  /** Ranks that will connect; the server waits for all of them. */
  worldSize: number;
  /** How long to wait for connections and keys. */
  timeoutMs: number;
}

export interface FileStoreOptions {
  /** A file every rank can open (a shared file system for several machines); created if missing. */
  path: string;
  worldSize: number;
  /** How long to wait for keys. */
  timeoutMs: number;
}

export class Store {
  #handle: StoreHandle | null;

  private constructor(handle: StoreHandle) {
    this.#handle = handle;
  }

  /** Connects to (or, as the server, opens) a TCPStore; resolves once every rank is there (server) or the server answered. */
  static async tcp(options: TcpStoreOptions): Promise<Store> {
    const { host, port, isServer, worldSize, timeoutMs } = options;
    const handle = await native(`cannot ${isServer ? 'open' : 'reach'} the TCP store at ${host}:${port} within ${timeoutMs} ms`, () =>
      N['distTcpStore']!(host, port, isServer, worldSize, timeoutMs) as Promise<StoreHandle>,
    );
    return new Store(handle);
  }

  /** Opens a FileStore. */
  static async file(options: FileStoreOptions): Promise<Store> {
    const handle = await native(`cannot open the file store ${options.path}`, () =>
      N['distFileStore']!(options.path, options.worldSize, options.timeoutMs) as Promise<StoreHandle>,
    );
    return new Store(handle);
  }

  /** @internal The addon handle. */
  get handle(): StoreHandle {
    if (this.#handle === null) throw new DistributedError('the store was closed');
    return this.#handle;
  }

  set(key: string, value: string): Promise<void> {
    return native(`store set '${key}'`, () => N['distStoreSet']!(this.handle, key, value) as Promise<void>);
  }

  /** The value of `key`, waiting (up to the store's timeout) until some rank sets it. */
  get(key: string): Promise<string> {
    return native(`store get '${key}'`, () => N['distStoreGet']!(this.handle, key) as Promise<string>);
  }

  /** Adds `amount` to the counter `key` (0 when new) and returns the new value. */
  add(key: string, amount: number): Promise<number> {
    return native(`store add '${key}'`, () => N['distStoreAdd']!(this.handle, key, amount) as Promise<number>);
  }

  /** Drops this handle's reference (the connection closes once no process group uses it). */
  close(): void {
    if (this.#handle !== null) N['distStoreClose']!(this.#handle);
    this.#handle = null;
  }
}
