/**
 * {@code files.api}: the files service over the event bus for sibling verticles (docs/event-bus.md).
 * {@link dev.files.api.FilesApi} is the contract; vertx-codegen generates its proxy
 * ({@code FilesApiVertxEBProxy}) at build time; {@link dev.files.api.FilesApiVerticle} answers.
 */
@ModuleGen(name = "files-api", groupPackage = "dev.files.api")
package dev.files.api;

import io.vertx.codegen.annotations.ModuleGen;
