import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler } from 'fastify'

// Fastify's own compiler with its default options, made once a process: each app would otherwise
// build a new Ajv and compile the toolbar's schemas again (most of what a registration cost).
// Every schema here is a module-level constant, so its validator is kept by the schema object.
let compile: ReturnType<ReturnType<typeof AjvCompiler>> | undefined
type Validator = ReturnType<FastifySchemaCompiler<unknown>>
const validators = new WeakMap<object, Validator>()

/** Validates the toolbar's route schemas as Fastify would, compiled once a process and shared by every app. */
export const sharedValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const schema = route.schema as object
  let validator = validators.get(schema)
  if (validator === undefined) {
    compile ??= AjvCompiler()({}, { customOptions: {}, plugins: [] })
    validator = compile(route as Parameters<typeof compile>[0]) as Validator
    validators.set(schema, validator)
  }
  return validator
}
