import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler } from 'fastify'

// Fastify's own compiler with its default options, made once a process: each app would otherwise
// build a new Ajv and compile the toolbar's schemas again (most of what a registration cost).
// Ajv caches a compiled schema by object, so every schema here is a module-level constant.
let compile: ReturnType<ReturnType<typeof AjvCompiler>> | undefined

/** Validates the toolbar's route schemas as Fastify would, compiled once a process and shared by every app. */
export const sharedValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  compile ??= AjvCompiler()({}, { customOptions: {}, plugins: [] })
  return compile(route as Parameters<typeof compile>[0]) as ReturnType<FastifySchemaCompiler<unknown>>
}
