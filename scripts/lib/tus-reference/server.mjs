// The tus reference of scripts/bench: the tus project's own server (@tus/server) with its file
// store (@tus/file-store), as its README starts it, on 127.0.0.1.
// usage: node server.mjs PORT DIRECTORY
// Uploads are created under /files (POST, creation and creation-with-upload) and written by PATCH;
// the file store writes each upload's bytes and a .json of its metadata, and never calls fsync.
import { Server } from '@tus/server'
import { FileStore } from '@tus/file-store'

const [port, directory] = process.argv.slice(2)
if (!port || !directory) {
  console.error('usage: node server.mjs PORT DIRECTORY')
  process.exit(2)
}
const server = new Server({ path: '/files', datastore: new FileStore({ directory }) })
server.listen({ host: '127.0.0.1', port: Number(port) }, () => {
  console.log(`tus reference listening on 127.0.0.1:${port}, files in ${directory}`)
})
