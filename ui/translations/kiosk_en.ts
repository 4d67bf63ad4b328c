<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name></name>
    <message numerus="yes">
        <source>Returning to the start screen in %n seconds.</source>
        <translation>
            <numerusform>Returning to the start screen in %n second.</numerusform>
            <numerusform>Returning to the start screen in %n seconds.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Lift the handset to continue. The visit ends in %n seconds.</source>
        <translation>
            <numerusform>Lift the handset to continue. The visit ends in %n second.</numerusform>
            <numerusform>Lift the handset to continue. The visit ends in %n seconds.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n minutes left in this visit</source>
        <translation>
            <numerusform>%n minute left in this visit</numerusform>
            <numerusform>%n minutes left in this visit</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Opens in %n minutes</source>
        <translation>
            <numerusform>Opens in %n minute</numerusform>
            <numerusform>Opens in %n minutes</numerusform>
        </translation>
    </message>
</context>
</TS>
