<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>Your visit has ended</source>
        <translation>Su visita ha terminado</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Listo</translation>
    </message>
    <message>
        <source>Visit length: {time}</source>
        <translation>Duración de la visita: {time}</translation>
    </message>
    <message numerus="yes">
        <source>Returning to the start screen in %n seconds.</source>
        <translation>
            <numerusform>Volviendo a la pantalla de inicio en %n segundo.</numerusform>
            <numerusform>Volviendo a la pantalla de inicio en %n segundos.</numerusform>
        </translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>Entrar</translation>
    </message>
    <message>
        <source>ID number</source>
        <translation>Número de identificación</translation>
    </message>
    <message>
        <source>PIN</source>
        <translation>PIN</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Comprobando…</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Volver</translation>
    </message>
    <message>
        <source>Next</source>
        <translation>Siguiente</translation>
    </message>
    <message>
        <source>Your visit is coming back. One moment, please.</source>
        <translation>Su visita está volviendo. Un momento, por favor.</translation>
    </message>
    <message>
        <source>Video visits</source>
        <translation>Visitas por video</translation>
    </message>
    <message>
        <source>Touch the screen to sign in and see your visits.</source>
        <translation>Toque la pantalla para entrar y ver sus visitas.</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Empezar</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Cámara</translation>
    </message>
    <message>
        <source>End visit</source>
        <translation>Terminar la visita</translation>
    </message>
    <message>
        <source>End the visit now?</source>
        <translation>¿Terminar la visita ahora?</translation>
    </message>
    <message>
        <source>Your visitors will be disconnected.</source>
        <translation>Sus visitantes serán desconectados.</translation>
    </message>
    <message>
        <source>Keep talking</source>
        <translation>Seguir hablando</translation>
    </message>
    <message>
        <source>Message from staff</source>
        <translation>Mensaje del personal</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>Entendido</translation>
    </message>
    <message>
        <source>The connection dropped. Reconnecting…</source>
        <translation>Se cortó la conexión. Reconectando…</translation>
    </message>
    <message>
        <source>Volume {level}</source>
        <translation>Volumen {level}</translation>
    </message>
    <message>
        <source>Waiting for {names} to join…</source>
        <translation>Esperando a que {names} se conecte…</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Conectando…</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Conectado</translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation>Reconectando…</translation>
    </message>
    <message>
        <source>Video: good</source>
        <translation>Imagen: buena</translation>
    </message>
    <message>
        <source>Video: weak</source>
        <translation>Imagen: débil</translation>
    </message>
    <message>
        <source>Video: poor</source>
        <translation>Imagen: mala</translation>
    </message>
    <message>
        <source>{time} left</source>
        <translation>Quedan {time}</translation>
    </message>
    <message>
        <source>Your visit time keeps counting: {time} left.</source>
        <translation>El tiempo de su visita sigue contando: quedan {time}.</translation>
    </message>
    <message numerus="yes">
        <source>Lift the handset to continue. The visit ends in %n seconds.</source>
        <translation>
            <numerusform>Levante el auricular para seguir. La visita termina en %n segundo.</numerusform>
            <numerusform>Levante el auricular para seguir. La visita termina en %n segundos.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n minutes left in this visit</source>
        <translation>
            <numerusform>Queda %n minuto de visita</numerusform>
            <numerusform>Quedan %n minutos de visita</numerusform>
        </translation>
    </message>
    <message>
        <source>This terminal cannot take visits right now</source>
        <translation>Esta terminal no puede hacer visitas ahora</translation>
    </message>
    <message>
        <source>Staff have been told. The terminal will be ready again by itself as soon as it is fixed.</source>
        <translation>El personal ya está avisado. La terminal volverá a funcionar sola en cuanto se arregle.</translation>
    </message>
    <message>
        <source>If you have a visit now, please tell an officer so it can be moved.</source>
        <translation>Si tiene una visita ahora, avise a un oficial para que la cambien.</translation>
    </message>
    <message>
        <source>Starting the camera…</source>
        <translation>Encendiendo la cámara…</translation>
    </message>
    <message>
        <source>This is how your visitors will see you.</source>
        <translation>Así le verán sus visitantes.</translation>
    </message>
    <message>
        <source>I understand</source>
        <translation>Entiendo</translation>
    </message>
    <message>
        <source>Lift the handset to start your visit.</source>
        <translation>Levante el auricular para empezar su visita.</translation>
    </message>
    <message>
        <source>Back to my visits</source>
        <translation>Volver a mis visitas</translation>
    </message>
    <message>
        <source>Visit with {names}</source>
        <translation>Visita con {names}</translation>
    </message>
    <message>
        <source>This visit is recorded and may be watched by staff.</source>
        <translation>Esta visita se graba y el personal puede verla.</translation>
    </message>
    <message>
        <source>This is a private visit. It is not recorded or watched.</source>
        <translation>Esta es una visita privada. No se graba ni se vigila.</translation>
    </message>
    <message>
        <source>Connecting your visit…</source>
        <translation>Conectando su visita…</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>Your visits</source>
        <translation>Sus visitas</translation>
    </message>
    <message>
        <source>Earlier visits</source>
        <translation>Visitas anteriores</translation>
    </message>
    <message>
        <source>More visits</source>
        <translation>Más visitas</translation>
    </message>
    <message>
        <source>Hello, {name}</source>
        <translation>Hola, {name}</translation>
    </message>
    <message>
        <source>You have no visits scheduled today.</source>
        <translation>Hoy no tiene visitas programadas.</translation>
    </message>
    <message>
        <source>{start} to {end}</source>
        <translation>De {start} a {end}</translation>
    </message>
    <message>
        <source>{when} · {place}</source>
        <translation>{when} · {place}</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Detalles</translation>
    </message>
    <message>
        <source>Too many wrong PINs. For your safety, sign-in is paused until {time}.</source>
        <translation>Demasiados PIN incorrectos. Por su seguridad, la entrada está bloqueada hasta las {time}.</translation>
    </message>
    <message>
        <source>This visit takes place at {place}. Please go there, or ask staff.</source>
        <translation>Esta visita es en {place}. Vaya allí o pregunte al personal.</translation>
    </message>
    <message>
        <source>This visit has not started yet. You can join it from {time}.</source>
        <translation>Esta visita todavía no ha empezado. Puede entrar desde las {time}.</translation>
    </message>
    <message>
        <source>Enter your ID number, using the keypad.</source>
        <translation>Escriba su número de identificación con el teclado.</translation>
    </message>
    <message>
        <source>Your PIN has 4 to 8 digits. Please enter it again.</source>
        <translation>Su PIN tiene de 4 a 8 números. Escríbalo otra vez.</translation>
    </message>
    <message>
        <source>That ID and PIN do not match. Please check them and try again.</source>
        <translation>El número y el PIN no coinciden. Revíselos e inténtelo otra vez.</translation>
    </message>
    <message>
        <source>The visit service cannot be reached right now. Please try again in a minute. If this keeps happening, tell staff.</source>
        <translation>No se puede conectar con el servicio de visitas. Inténtelo otra vez en un minuto. Si sigue pasando, avise al personal.</translation>
    </message>
    <message>
        <source>This terminal is not set up for visits. Please tell staff.</source>
        <translation>Esta terminal no está preparada para visitas. Avise al personal.</translation>
    </message>
    <message>
        <source>You were signed out to keep your account safe. Please sign in again.</source>
        <translation>Se cerró su sesión para proteger su cuenta. Entre otra vez.</translation>
    </message>
    <message>
        <source>This visit has not started yet.</source>
        <translation>Esta visita todavía no ha empezado.</translation>
    </message>
    <message>
        <source>This visit is no longer available.</source>
        <translation>Esta visita ya no está disponible.</translation>
    </message>
    <message>
        <source>This visit takes place at another terminal. Please ask staff where.</source>
        <translation>Esta visita es en otra terminal. Pregunte al personal dónde.</translation>
    </message>
    <message>
        <source>Too many wrong PINs. For your safety, sign-in is paused for a while.</source>
        <translation>Demasiados PIN incorrectos. Por su seguridad, la entrada está bloqueada un rato.</translation>
    </message>
    <message>
        <source>That is not the technician PIN.</source>
        <translation>Ese no es el PIN de técnico.</translation>
    </message>
    <message>
        <source>The video service is not answering. Hang up and lift the handset to try again, or tell staff.</source>
        <translation>El servicio de video no responde. Cuelgue y levante el auricular para intentarlo otra vez, o avise al personal.</translation>
    </message>
    <message>
        <source>Staff ended the visit: {reason}</source>
        <translation>El personal terminó la visita: {reason}</translation>
    </message>
    <message>
        <source>Staff ended the visit.</source>
        <translation>El personal terminó la visita.</translation>
    </message>
    <message>
        <source>The scheduled time is over.</source>
        <translation>Se acabó el tiempo programado.</translation>
    </message>
    <message>
        <source>You ended the visit.</source>
        <translation>Usted terminó la visita.</translation>
    </message>
    <message>
        <source>The handset was hung up.</source>
        <translation>Se colgó el auricular.</translation>
    </message>
    <message>
        <source>The connection could not be restored.</source>
        <translation>No se pudo recuperar la conexión.</translation>
    </message>
    <message numerus="yes">
        <source>Opens in %n minutes</source>
        <translation>
            <numerusform>Se abre en %n minuto</numerusform>
            <numerusform>Se abre en %n minutos</numerusform>
        </translation>
    </message>
    <message>
        <source>Ready now</source>
        <translation>Lista ahora</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>En curso</translation>
    </message>
    <message>
        <source>Opens at {time}</source>
        <translation>Se abre a las {time}</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Terminada</translation>
    </message>
    <message>
        <source>Ended by staff</source>
        <translation>Terminada por el personal</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Cancelada</translation>
    </message>
    <message>
        <source>Missed</source>
        <translation>Perdida</translation>
    </message>
    <message>
        <source>{first} and {last}</source>
        <translation>{first} y {last}</translation>
    </message>
    <message>
        <source>A visit is ready for {initials}</source>
        <translation>Hay una visita lista para {initials}</translation>
    </message>
    <message>
        <source>A visit is ready for the ID ending in {digits}</source>
        <translation>Hay una visita lista para el número que termina en {digits}</translation>
    </message>
    <message>
        <source>Some of the terminal&apos;s equipment is not working.</source>
        <translation>Parte del equipo de la terminal no funciona.</translation>
    </message>
    <message>
        <source>The camera is not working.</source>
        <translation>La cámara no funciona.</translation>
    </message>
    <message>
        <source>The handset is not working.</source>
        <translation>El auricular no funciona.</translation>
    </message>
    <message>
        <source>The touchscreen is not working.</source>
        <translation>La pantalla táctil no funciona.</translation>
    </message>
    <message>
        <source>The terminal&apos;s software has stopped working.</source>
        <translation>El programa de la terminal dejó de funcionar.</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Borrar</translation>
    </message>
    <message>
        <source>Normal text</source>
        <translation>Letra normal</translation>
    </message>
    <message>
        <source>Larger text</source>
        <translation>Letra más grande</translation>
    </message>
    <message>
        <source>Handset</source>
        <translation>Auricular</translation>
    </message>
    <message>
        <source>Hook switch</source>
        <translation>Gancho del auricular</translation>
    </message>
    <message>
        <source>Touchscreen</source>
        <translation>Pantalla táctil</translation>
    </message>
    <message>
        <source>Degraded</source>
        <translation>Con fallos</translation>
    </message>
    <message>
        <source>Lost</source>
        <translation>Perdido</translation>
    </message>
    <message>
        <source>Missing</source>
        <translation>No conectado</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Falló</translation>
    </message>
    <message>
        <source>Technician mode</source>
        <translation>Modo técnico</translation>
    </message>
    <message>
        <source>Leave technician mode</source>
        <translation>Salir del modo técnico</translation>
    </message>
    <message>
        <source>Play test tone</source>
        <translation>Tocar tono de prueba</translation>
    </message>
    <message>
        <source>Check network</source>
        <translation>Comprobar la red</translation>
    </message>
    <message>
        <source>Restart app</source>
        <translation>Reiniciar la aplicación</translation>
    </message>
    <message>
        <source>CAMERA</source>
        <translation>CÁMARA</translation>
    </message>
    <message>
        <source>Waiting for the camera…</source>
        <translation>Esperando a la cámara…</translation>
    </message>
    <message>
        <source>MICROPHONE</source>
        <translation>MICRÓFONO</translation>
    </message>
    <message>
        <source>Speak into the handset: the bar moves.</source>
        <translation>Hable al auricular: la barra se mueve.</translation>
    </message>
    <message>
        <source>DEVICES</source>
        <translation>EQUIPOS</translation>
    </message>
    <message>
        <source>Looking at the devices…</source>
        <translation>Revisando los equipos…</translation>
    </message>
    <message>
        <source>NETWORK</source>
        <translation>RED</translation>
    </message>
    <message>
        <source>Not checked yet. Tap “Check network”.</source>
        <translation>Sin comprobar. Toque «Comprobar la red».</translation>
    </message>
    <message>
        <source>Checking the way to central and Janus…</source>
        <translation>Comprobando la conexión con central y Janus…</translation>
    </message>
    <message>
        <source>The devices could not be read. See the log.</source>
        <translation>No se pudieron leer los equipos. Vea el registro.</translation>
    </message>
    <message>
        <source>The network check could not run. See the log.</source>
        <translation>No se pudo comprobar la red. Vea el registro.</translation>
    </message>
    <message>
        <source>Playing…</source>
        <translation>Sonando…</translation>
    </message>
    <message>
        <source>Technician</source>
        <translation>Técnico</translation>
    </message>
    <message>
        <source>Technician PIN</source>
        <translation>PIN de técnico</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Desbloquear</translation>
    </message>
</context>
</TS>
