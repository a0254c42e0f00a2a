// tsyringe (under @peculiar/x509) needs Reflect.getMetadata when it loads, so reflect-metadata must run first.
// x509.ts imports both this ES module and reflect-metadata itself, ahead of @peculiar/x509, because the two ways tp
// runs order imports differently: `bun cmd/tp.ts` evaluates a module's CommonJS imports (reflect-metadata, the CJS
// build of @peculiar/x509) before its ES ones, while a `bun build` bundle (scripts/dist.ts, the ESM build of
// @peculiar/x509) runs ES imports first and CommonJS ones after.
import 'reflect-metadata';
